export * from './aggregates';
export * from './bouncers.projection';
export * from './machines.projection';
export * from './queries';
