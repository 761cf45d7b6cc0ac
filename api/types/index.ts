/**
 * Every kind nanokube serves, in one registry.
 */
import { Registry } from '../registry.js';
import { admissionRegistrationTypes } from './admissionregistration.js';
import { apiregistrationTypes } from './apiregistration.js';
import { appsTypes } from './apps.js';
import { batchTypes } from './batch.js';
import { certificatesTypes } from './certificates.js';
import { coordinationTypes } from './coordination.js';
import { coreTypes } from './core.js';
import { discoveryTypes } from './discovery.js';
import { networkingTypes } from './networking.js';
import { podType } from './pod.js';
import { rbacTypes } from './rbac.js';
import { storageClassTypes } from './storageclass.js';

export const builtinRegistry = new Registry([
  ...coreTypes,
  podType,
  ...appsTypes,
  ...batchTypes,
  ...coordinationTypes,
  ...discoveryTypes,
  ...networkingTypes,
  ...storageClassTypes,
  ...rbacTypes,
  ...certificatesTypes,
  ...admissionRegistrationTypes,
  ...apiregistrationTypes,
]);
