import { describe, expect, it } from 'vitest';
import { historyText, type Revision, undoTarget } from './history.js';

const rev = (revision: number, changeCause?: string): Revision => ({
  revision,
  changeCause,
  template: {
    metadata: { labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: `img:${revision}` }] },
  },
  source: { metadata: { name: `web-${revision}` } },
});

describe('historyText', () => {
  it('lists revisions with their change cause, two spaces apart as kubectl', () => {
    expect(historyText([rev(1), rev(3, 'set image')], 0)).toBe(
      'REVISION  CHANGE-CAUSE\n1         <none>\n3         set image\n',
    );
  });

  it('shows one revision as its pod template, with the change cause among its annotations', () => {
    const text = historyText([rev(1), rev(2, 'why')], 2);
    expect(text).toContain(
      'Pod Template:\n  Labels:\tapp=web\n  Annotations:\tkubernetes.io/change-cause: why\n',
    );
    expect(text).toContain('    Image:\timg:2\n');
  });

  it('says so when there is no history, and refuses a revision that does not exist', () => {
    expect(historyText([], 0)).toBe('No rollout history found.');
    expect(() => historyText([rev(1)], 5)).toThrow('unable to find the specified revision');
  });
});

describe('undoTarget', () => {
  it.each([
    { name: 'the previous revision by default', revs: [1, 2, 4], to: 0, want: 2 },
    { name: 'the revision asked for', revs: [1, 2, 4], to: 1, want: 1 },
    { name: 'nothing when only one revision exists', revs: [4], to: 0, want: undefined },
    { name: 'nothing for a revision not kept', revs: [1, 2], to: 7, want: undefined },
  ])('$name', ({ revs, to, want }) => {
    expect(
      undoTarget(
        revs.map((r) => rev(r)),
        to,
      )?.revision,
    ).toBe(want);
  });
});
