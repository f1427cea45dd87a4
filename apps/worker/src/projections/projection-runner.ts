import type { ProjectorStep } from '@lapi/read-models';
import { Logger } from '@nestjs/common';

// Idle poll of the log: the latency a write waits for its projection when nothing else is happening.
const IDLE_DELAY_MS = 20;
// After an error (database or Redis away), back off so the logs and the servers are not flooded.
const ERROR_DELAY_MS = 1_000;

/** Runs a projector until stopped: catches up in batches, polls when idle, survives outages. */
export class ProjectionRunner {
  private readonly logger: Logger;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private nudged = false;

  constructor(
    private readonly name: string,
    private readonly projector: { step(): Promise<ProjectorStep> },
    private readonly onStep: (step: ProjectorStep) => void | Promise<void> = () => undefined,
  ) {
    this.logger = new Logger(`ProjectionRunner:${name}`);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** New events were appended: step now instead of at the end of the idle delay. */
  nudge(): void {
    this.nudged = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failing = false;
    while (this.running) {
      let delay = IDLE_DELAY_MS;
      try {
        const step = await this.projector.step();
        await this.onStep(step);
        if (step.applied > 0) {
          delay = 0;
        }
        if (failing) {
          this.logger.log('projection resumed');
          failing = false;
        }
      } catch (error) {
        if (!failing) {
          this.logger.error(
            `projection step failed, retrying: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        failing = true;
        delay = ERROR_DELAY_MS;
      }
      if (this.nudged && !failing) {
        delay = 0; // events were appended while this step ran
      }
      this.nudged = false;
      if (delay > 0 && this.running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }
}
