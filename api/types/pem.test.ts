import { describe, expect, it } from 'vitest';
import { certificatePem, requestPem } from '../../testing/pem-fixtures.js';
import { isDerSequence, pemBlocks } from './pem.js';

describe('pemBlocks', () => {
  it('finds every block, with its type and whether it has headers', () => {
    const withHeaders = certificatePem.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n');
    const blocks = pemBlocks(`junk\n${requestPem}${withHeaders}`);
    expect(blocks.map((b) => [b.type, b.headers])).toEqual([
      ['CERTIFICATE REQUEST', false],
      ['CERTIFICATE', true],
    ]);
    expect(isDerSequence(blocks[0].bytes)).toBe(true);
    expect(isDerSequence(blocks[0].bytes.subarray(0, 100))).toBe(false);
  });
});
