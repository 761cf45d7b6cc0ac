/**
 * Every kind nanokube serves, in one registry.
 */
import { Registry } from '../registry.js';
import { coordinationTypes } from './coordination.js';
import { coreTypes } from './core.js';
import { discoveryTypes } from './discovery.js';
import { networkingTypes } from './networking.js';
import { podType } from './pod.js';

export const builtinRegistry = new Registry([
  ...coreTypes,
  podType,
  ...coordinationTypes,
  ...discoveryTypes,
  ...networkingTypes,
]);
