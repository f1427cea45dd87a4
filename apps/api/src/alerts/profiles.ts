import { loadNotificationConfigs, loadProfiles, type ProfileEngine } from '@lapi/application';
import { alertNotifyOf, applyProfiles, NotificationConfigError, type HttpNotificationConfig } from '@lapi/domain';

/**
 * profiles.yaml (or the reference's defaults) compiled once at start-up: a bad profile stops the server, and so
 * does a profile naming a notification plugin that `notificationsDir` does not configure (as the reference's
 * broker refuses to start). The engine records notifications with the alert; the workers deliver them in a cluster,
 * this process otherwise (with `notificationConfigs`: the plugins the profiles name).
 */
export function createProfileEngine(
  path: string | undefined,
  notificationsDir: string | undefined,
): ProfileEngine & { readonly notificationConfigs: ReadonlyMap<string, HttpNotificationConfig> } {
  const profiles = loadProfiles(path);
  const used = [...new Set(profiles.flatMap((p) => p.notifications))];
  let notificationConfigs: ReadonlyMap<string, HttpNotificationConfig> = new Map();
  if (used.length > 0) {
    if (notificationsDir === undefined) {
      throw new NotificationConfigError(
        `profiles name notification plugins (${used.join(', ')}) but LAPI_NOTIFICATIONS_DIR is not set`,
      );
    }
    notificationConfigs = loadNotificationConfigs(notificationsDir, { used }).byName;
  }
  return {
    notificationConfigs,
    evaluate: async (alert, stats, now) => {
      const outcome = await applyProfiles(alert, profiles, stats, now);
      return { decisions: outcome.decisions, notify: alertNotifyOf(outcome) };
    },
    notifies: used.length > 0,
  };
}
