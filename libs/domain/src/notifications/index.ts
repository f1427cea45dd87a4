export * from './alert-model';
export * from './alert-notify';
export * from './grouping';
export * from './http-config';
export * from './notification.errors';
export * from './retry';
export { compileGoTemplate, marshalJson, type FunctionContext, type GoTemplate, type GoValue } from './template';
