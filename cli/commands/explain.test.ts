import { describe, expect, it } from 'vitest';
import type { ResourceType } from '../../api/registry.js';
import { explainText, type Schema, typeGuess, wrap } from './explain.js';

const rt = { group: 'example.io', version: 'v1', kind: 'Widget' } as ResourceType;
const widget: Schema = {
  type: 'object',
  description: 'A widget.',
  'x-kubernetes-group-version-kind': [{ group: 'example.io', version: 'v1', kind: 'Widget' }],
  required: ['size'],
  properties: {
    size: { type: 'integer', description: 'How big.' },
    mode: { type: 'string', description: 'How it runs.', enum: ['', 'Fast', 'Slow', 'Off', 'Auto'] },
    tags: { type: 'object', additionalProperties: { type: 'string' } },
    parts: {
      type: 'array',
      description: 'The parts.',
      items: { type: 'object', description: 'One part.', properties: { name: { type: 'string' } } },
    },
  },
};
const doc = { components: { schemas: { 'io.example.v1.Widget': widget } } };

describe('explain', () => {
  it('guesses types as kubectl does', () => {
    expect(typeGuess({ type: 'array', items: { type: 'object' } })).toBe('[]Object');
    expect(
      typeGuess({ type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } }),
    ).toBe('map[string][]string');
    expect(typeGuess({ anyOf: [] } as Schema)).toBe('Object');
    expect(typeGuess({ type: 'boolean' })).toBe('boolean');
  });

  it('wraps words greedily, keeping a too-long word whole', () => {
    expect(wrap('aa bb cc dd', 5)).toBe('aa bb\ncc dd');
    expect(wrap('a https://very-long-url b', 6)).toBe('a\nhttps://very-long-url\nb');
    expect(wrap('one\ntwo three', 7)).toBe('one\ntwo\nthree');
  });

  it('marks required fields, shows enums, and reads list items for a field path', () => {
    expect(explainText(doc, rt, [], false)).toBe(
      [
        'GROUP:      example.io',
        'KIND:       Widget',
        'VERSION:    v1',
        '',
        'DESCRIPTION:',
        '    A widget.',
        '    ',
        'FIELDS:',
        '  mode\t<string>',
        '  enum: "", Fast, Slow, Off, ....',
        '    How it runs.',
        '',
        '  parts\t<[]Object>',
        '    The parts.',
        '',
        '  size\t<integer> -required-',
        '    How big.',
        '',
        '  tags\t<map[string]string>',
        '    <no description>',
        '',
        '',
        '',
      ].join('\n'),
    );
    expect(explainText(doc, rt, ['mode'], false)).toContain(
      'FIELD: mode <string>\nENUM:\n    ""\n    Fast\n    Slow\n    Off\n    Auto\n\nDESCRIPTION:\n    How it runs.\n',
    );
    expect(explainText(doc, rt, ['parts', 'name'], false)).toContain('FIELD: name <string>');
    expect(explainText(doc, rt, [], true)).toContain('  parts\t<[]Object>\n    name\t<string>\n  size');
  });

  it('names a missing field, and a kind the document lacks', () => {
    expect(() => explainText(doc, rt, ['parts', 'nope'], false)).toThrow('field "nope" does not exist');
    expect(() => explainText(doc, { ...rt, kind: 'Gadget' }, [], false)).toThrow(
      'not found in OpenAPI schema',
    );
  });
});
