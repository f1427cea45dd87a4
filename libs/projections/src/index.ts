export * from './aggregates';
export * from './alert-queries';
export * from './bouncers.projection';
export * from './decision-queries';
export * from './decisions.projection';
export * from './ids';
export * from './machines.projection';
export * from './queries';
