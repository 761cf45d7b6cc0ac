/**
 * One object named on the command line and in output, as kubectl names it:
 * `TYPE NAME` or `TYPE/NAME` in, `deployment.apps/web` out; and whether a
 * write changed it, for "unchanged" and "(no change)".
 */
import type { KubeObject } from '../api/meta.js';
import type { ResourceType } from '../api/registry.js';
import { type CliContext, CliError } from './context.js';

/** Splits `TYPE/NAME`, refusing anything else. */
export function splitSlash(arg: string): { type: string; name: string } {
  const parts = arg.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1])
    throw new CliError('arguments in resource/name form must have a single resource and name');
  return { type: parts[0], name: parts[1] };
}

/** The object that `TYPE NAME` or `TYPE/NAME` names. */
export function objectArgs(ctx: CliContext, args: string[]): { rt: ResourceType; name: string } {
  let type: string;
  let name: string;
  if (args.length === 1 && args[0].includes('/')) ({ type, name } = splitSlash(args[0]));
  else if (args.length === 2 && !args[0].includes('/')) [type, name] = args;
  else throw new CliError('expected one object, as TYPE NAME or TYPE/NAME');
  return { rt: ctx.resource(type), name };
}

/** How kubectl prints an object in `... created` lines: `deployment.apps/web`, `pod/x`. */
export function shownName(rt: ResourceType, name: string): string {
  return `${rt.group ? `${rt.singular}.${rt.group}` : rt.singular}/${name}`;
}

/**
 * Whether a write left the object as it was, judged from the object before
 * and the server's answer. Status, resourceVersion and managedFields do not
 * count: a controller may write status between the two, and the write
 * itself may only move field ownership.
 */
export function unchangedBy(before: KubeObject, after: KubeObject): boolean {
  const content = ({ status: _, metadata, ...rest }: KubeObject) => {
    const { resourceVersion: __, managedFields: ___, ...meta } = metadata;
    return JSON.stringify({ ...rest, metadata: meta });
  };
  return content(before) === content(after);
}
