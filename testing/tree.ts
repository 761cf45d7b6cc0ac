/**
 * The repository's top-level folders as the tree checks see them
 * (base/layers.test.ts, base/docs-paths.test.ts): one list, so a new
 * component is added once.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The component folders: one process each, each with its page in docs/. */
export const componentFolders = [
  'apiserver',
  'controller-manager',
  'scheduler',
  'kubelet',
  'kube-proxy',
  'dns',
  'ingress',
] as const;
