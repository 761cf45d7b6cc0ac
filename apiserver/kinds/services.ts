/** Services: cluster IPs and node ports are claimed on create and update (service-alloc.ts). */
import type { Kind } from './kind.js';

export const services: Kind = {
  admission: (ctx) => ({ admit: (obj, old) => ctx.serviceAllocator.admit(obj, old) }),
};
