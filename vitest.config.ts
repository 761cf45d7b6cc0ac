import { defineConfig } from 'vitest/config';

// Two projects: `unit` is pure logic beside the code (seconds, no processes);
// `e2e` starts real etcd and apiserver processes and runs one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            '{api,apiserver,base,client,controller-manager,scheduler,kubelet,kube-proxy,dns,ingress,cli,lab,examples}/**/*.test.ts',
          ],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
