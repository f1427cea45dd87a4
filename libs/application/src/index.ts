export * from './admin/admin-operations';
export * from './application.module';
export * from './bouncers/api-key';
export * from './bouncers/bouncer.commands';
export * from './machines/machine.commands';
export { generatePassword } from './machines/password';
export * from './shared/ports';
