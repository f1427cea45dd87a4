export * from './alert-env';
export * from './expr';
export * from './profile.errors';
export * from './profiles';
