import { describe, expect, it } from 'vitest';
import { LinePrefixer } from './logs.js';

describe('LinePrefixer', () => {
  it('writes whole lines with the prefix, holding a partial line until its end comes', () => {
    const writes: string[] = [];
    const p = new LinePrefixer('[pod/a/c] ', (t) => writes.push(t));
    p.push('one\ntw');
    p.push('o\n\nthr');
    p.push('ee');
    p.end();
    expect(writes).toEqual(['[pod/a/c] one\n', '[pod/a/c] two\n[pod/a/c] \n', '[pod/a/c] three']);
  });
});
