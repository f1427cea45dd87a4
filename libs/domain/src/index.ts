export * from './bouncers/bouncer';
export * from './bouncers/bouncer.errors';
export * from './bouncers/bouncer.events';
export * from './machines/machine';
export * from './machines/machine.errors';
export * from './machines/machine.events';
export * from './shared/errors';
export * from './shared/event';
