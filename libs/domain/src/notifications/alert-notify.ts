import type { AlertNotify, AlertReceived } from '../alerts/alert.events';
import type { ProfilesOutcome } from '../profiles/profiles';
import type { NotificationAlert } from './alert-model';

/** What to record with an alert for its notifications; undefined when no matching profile names a plugin. */
export function alertNotifyOf(outcome: ProfilesOutcome): AlertNotify | undefined {
  const profiles = outcome.notifications
    .filter((n) => n.notifications.length > 0)
    .map((n) => ({ name: n.profileName, plugins: n.notifications, withDecisions: n.decisions.length > 0 }));
  if (profiles.length === 0) {
    return undefined;
  }
  // Every matching profile saw either no decision or all of them (decisions are only ever set once).
  return { profiles, decisions: profiles.some((p) => p.withDecisions) ? outcome.decisions : [] };
}

/** One alert queued for one plugin, as the reference's broker queues a ProfileAlert per plugin of the profile. */
export interface PluginAlert {
  readonly plugin: string;
  readonly profile: string;
  readonly alert: NotificationAlert;
}

/**
 * The alerts an AlertReceived sends to plugins, in the reference's order (profiles, then each profile's plugins).
 * Unlike the reference, which notifies before storing, the alert carries its id and creation time.
 */
export function pluginAlertsOf(event: Pick<AlertReceived, 'data'>): PluginAlert[] {
  const { notify } = event.data;
  if (notify === undefined) {
    return [];
  }
  const out: PluginAlert[] = [];
  for (const profile of notify.profiles) {
    const alert: NotificationAlert = {
      alert: event.data.alert,
      decisions: profile.withDecisions && notify.decisions.length > 0 ? notify.decisions : null,
      machineId: event.data.machineId,
      id: event.data.alertId,
      uuid: event.data.uuid,
    };
    for (const plugin of profile.plugins) {
      out.push({ plugin, profile: profile.name, alert });
    }
  }
  return out;
}
