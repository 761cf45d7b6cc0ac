/**
 * `nkctl explain TYPE[.field.path]`: the documentation of a kind or of one
 * of its fields, read from the apiserver's OpenAPI v3 document of the
 * kind's group-version and printed as kubectl's plaintext explain template
 * prints it (KIND, VERSION, FIELD, DESCRIPTION, FIELDS with type hints,
 * descriptions wrapped at 80 columns); `--recursive` lists the fields of
 * fields, without descriptions. Lists are looked through: `pod.spec.
 * containers.ports` reads the fields of the list's items. The documents
 * nanokube serves inline every schema, so `$ref` and `allOf` are not
 * followed. Changes nothing.
 */
import { Command } from 'commander';
import type { ResourceType } from '../../api/registry.js';
import { boolFlag } from '../../base/component-main.js';
import { CliError, cliContext } from '../context.js';

export interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  required?: string[];
  enum?: unknown[];
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
}

interface OpenAPIDocument {
  components?: { schemas?: Record<string, Schema> };
}

const mapValues = (s: Schema) =>
  typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;

/** kubectl's type hint: string, integer, Object, []Object, map[string]string... */
export function typeGuess(s: Schema): string {
  if (s.items) return `[]${typeGuess(s.items)}`;
  const values = mapValues(s);
  if (values) return `map[string]${typeGuess(values)}`;
  return s.type === 'object' || !s.type ? 'Object' : s.type;
}

/** Greedy word wrap of each line to `width` columns; a longer word keeps its own line. */
export function wrap(text: string, width: number): string {
  return text
    .split('\n')
    .map((line) => {
      const lines: string[] = [];
      let cur = '';
      for (const word of line.split(' ')) {
        if (cur !== '' && cur.length + 1 + word.length > width) {
          lines.push(cur);
          cur = word;
        } else cur = cur === '' ? word : `${cur} ${word}`;
      }
      return [...lines, cur].join('\n');
    })
    .join('\n');
}

const indent = (text: string, n: number) => ' '.repeat(n) + text.replaceAll('\n', `\n${' '.repeat(n)}`);

const enumValue = (v: unknown) => (v === '' ? '""' : String(v));

/** A schema's own description, then its items' and map values'. */
function description(s: Schema): string {
  const values = mapValues(s);
  return (
    (s.description ? `${s.description}\n` : '') +
    (s.items ? description(s.items) : '') +
    (values ? description(values) : '')
  );
}

function fieldDetail(parent: Schema, name: string, level: number, short: boolean): string {
  const f = parent.properties![name];
  const pad = level * 2;
  let out = `${' '.repeat(pad)}${name}\t<${typeGuess(f)}>`;
  if (parent.required?.includes(name)) out += ' -required-';
  if (f.enum) {
    const shown = f.enum.slice(0, 4).map(enumValue).join(', ');
    out += `\n${' '.repeat(pad)}enum: ${shown}${f.enum.length > 4 ? ', ....' : ''}`;
  }
  out += '\n';
  if (!short) out += `${indent(wrap(f.description || '<no description>', 78 - pad), pad + 2)}\n\n`;
  return out;
}

function fieldList(s: Schema, level: number, recursive: boolean): string {
  let out = '';
  for (const name of Object.keys(s.properties ?? {}).sort()) {
    out += fieldDetail(s, name, level, recursive);
    if (recursive) out += fieldList(s.properties![name], level + 1, true);
  }
  if (s.items) out += fieldList(s.items, level, recursive);
  const values = mapValues(s);
  if (values) out += fieldList(values, level, recursive);
  return out;
}

/** Follows `path` from `s` and explains where it ends; '' when a field is missing. */
function output(s: Schema, path: string[], recursive: boolean): string {
  if (path.length === 0) {
    const fields = fieldList(s, 1, recursive);
    return `DESCRIPTION:\n${indent(wrap(description(s) || '<empty>', 76), 4)}\n${fields ? `FIELDS:\n${fields}` : ''}`;
  }
  const sub = s.properties?.[path[0]];
  if (sub) {
    let head = '';
    if (path.length === 1) {
      head = `FIELD: ${path[0]} <${typeGuess(sub)}>\n`;
      if (sub.enum) head += `ENUM:${sub.enum.map((v) => `\n    ${enumValue(v)}`).join('')}`;
      head += '\n\n';
    }
    return head + output(sub, path.slice(1), recursive);
  }
  const inner = s.items ?? mapValues(s);
  return inner ? output(inner, path, recursive) : '';
}

/** The explain text for `rt` and a field path within it, from the OpenAPI document of its group-version. */
export function explainText(
  doc: OpenAPIDocument,
  rt: ResourceType,
  path: string[],
  recursive: boolean,
): string {
  const schema = Object.values(doc.components?.schemas ?? {}).find((s) =>
    s['x-kubernetes-group-version-kind']?.some(
      (g) => g.group === rt.group && g.version === rt.version && g.kind === rt.kind,
    ),
  );
  if (!schema)
    throw new CliError(`GVK ${rt.group}/${rt.version}, Kind=${rt.kind} not found in OpenAPI schema`);
  const body = output(schema, path, recursive);
  if (!body) throw new CliError(`field "${path.at(-1)}" does not exist`);
  const group = rt.group ? `GROUP:      ${rt.group}\n` : '';
  return `${group}KIND:       ${rt.kind}\nVERSION:    ${rt.version}\n\n${body}\n`;
}

export function newExplainCommand(): Command {
  return new Command('explain')
    .description(
      'Describe a kind or one of its fields (pod.spec.containers) from the server. Changes nothing.',
    )
    .argument('<type.field.path>', 'a resource type, then field names separated by dots')
    .addOption(boolFlag('--recursive', 'list the fields of fields, without descriptions'))
    .action(async (arg: string, o: { recursive?: boolean }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const [type, ...path] = arg.split('.');
      const rt = ctx.resource(type);
      const index = await ctx.rest.request<{ paths: Record<string, { serverRelativeURL: string }> }>({
        method: 'GET',
        path: '/openapi/v3',
      });
      const key = rt.group ? `apis/${rt.group}/${rt.version}` : `api/${rt.version}`;
      const url = index.paths[key]?.serverRelativeURL;
      if (!url) throw new CliError(`the server has no OpenAPI v3 document for ${key}`);
      const doc = await ctx.rest.request<OpenAPIDocument>({ method: 'GET', path: url });
      process.stdout.write(explainText(doc, rt, path.filter(Boolean), !!o.recursive));
    });
}
