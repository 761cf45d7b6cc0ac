/**
 * `nkctl token create|list|delete`: bootstrap tokens, as `kubeadm token`
 * manages them. A token `ID.SECRET` is the Secret
 * kube-system/bootstrap-token-ID; a kubelet that has it can join the
 * cluster (TLS bootstrapping: it asks for its own certificate with it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { isNotFound } from '../../api/status.js';
import { boolFlag, parseDuration } from '../../base/component-main.js';
import { bootstrapTokenSecret, randomBootstrapToken } from '../cluster-pki.js';
import { type CliContext, CliError, cliContext } from '../context.js';
import { caCertHash, clusterInfoPath, parseClusterInfo } from '../install/discovery.js';
import { controlPlaneTokenGroup, defaultLayout, joinCommand, pkiFiles } from '../install/layout.js';
import { printTable } from '../table.js';

const tokenPattern = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const idPattern = /^[a-z0-9]{6}$/;

interface SecretLike {
  metadata: { name?: string };
  type?: string;
  data?: Record<string, string>;
}

const secrets = (ctx: CliContext) => ctx.client(ctx.resource('secrets'), 'kube-system');
const field = (s: SecretLike, key: string) =>
  s.data?.[key] === undefined ? undefined : Buffer.from(s.data[key], 'base64').toString('utf8');

/**
 * The install.sh join command for `token`, as `kubeadm token create
 * --print-join-command`: the first apiserver and CA hash from
 * kube-public/cluster-info, and for a master the certificate key this
 * master keeps.
 */
export async function joinCommandFor(ctx: CliContext, token: string, controlPlane: boolean): Promise<string> {
  let info: ReturnType<typeof parseClusterInfo>;
  try {
    const cm = (await ctx.rest.request({ method: 'GET', path: clusterInfoPath })) as {
      data?: { kubeconfig?: string };
    };
    info = parseClusterInfo(cm.data?.kubeconfig ?? '');
  } catch (err) {
    throw new CliError(
      `cannot read kube-public/cluster-info (a cluster made by install.sh has it): ${(err as Error).message}`,
    );
  }
  let certificateKey: string | undefined;
  if (controlPlane) {
    const file = pkiFiles(defaultLayout).certificateKey;
    if (!existsSync(file)) throw new CliError(`--control-plane: run this on a master (${file} is missing)`);
    certificateKey = readFileSync(file, 'utf8').trim();
  }
  return joinCommand({
    server: info.servers[0],
    token,
    caCertHash: caCertHash(info.caPem),
    role: controlPlane ? 'master' : 'worker',
    certificateKey,
  });
}

export async function createToken(
  ctx: CliContext,
  o: {
    token?: string;
    ttl: string;
    description?: string;
    groups?: string;
    printJoinCommand?: boolean;
    controlPlane?: boolean;
  },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  if (o.controlPlane && !o.printJoinCommand)
    throw new CliError('--control-plane goes with --print-join-command');
  const token = o.token ?? randomBootstrapToken();
  if (!tokenPattern.test(token))
    throw new CliError(`token "${token}" is not of the form [a-z0-9]{6}.[a-z0-9]{16}`);
  let ttlMs: number;
  try {
    ttlMs = parseDuration('--ttl', o.ttl);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const secret = bootstrapTokenSecret(token, ttlMs, {
    description: o.description ?? 'made by nkctl token create',
    // A master's token is of the group that may read the masters' shared keys, and no other.
    groups: o.controlPlane ? controlPlaneTokenGroup : o.groups,
  }) as SecretLike & { metadata: { name: string } };
  // The command first: a master's would fail after the token was made.
  const command = o.printJoinCommand ? await joinCommandFor(ctx, token, !!o.controlPlane) : undefined;
  await secrets(ctx).create(secret as never);
  out.write(`${command ?? token}\n`);
}

function ttlLeft(expiration: string | undefined, now: number): string {
  if (!expiration) return '<forever>';
  const s = Math.floor((Date.parse(expiration) - now) / 1000);
  if (s <= 0) return '<invalid>';
  return s >= 3600 ? `${Math.floor(s / 3600)}h` : s >= 60 ? `${Math.floor(s / 60)}m` : `${s}s`;
}

export async function listTokens(
  ctx: CliContext,
  out: NodeJS.WritableStream = process.stdout,
  now = Date.now(),
): Promise<void> {
  const list = (await secrets(ctx).list()) as unknown as { items: SecretLike[] };
  const rows = list.items
    .filter((s) => s.type === 'bootstrap.kubernetes.io/token')
    .map((s) => {
      const usages = Object.keys(s.data ?? {})
        .filter((k) => k.startsWith('usage-bootstrap-') && field(s, k) === 'true')
        .map((k) => k.slice('usage-bootstrap-'.length))
        .sort();
      return [
        `${field(s, 'token-id')}.${field(s, 'token-secret')}`,
        ttlLeft(field(s, 'expiration'), now),
        field(s, 'expiration') ?? '<never>',
        usages.join(',') || '<none>',
        field(s, 'description') ?? '<none>',
        field(s, 'auth-extra-groups') ?? '<none>',
      ];
    });
  printTable(out, ['TOKEN', 'TTL', 'EXPIRES', 'USAGES', 'DESCRIPTION', 'EXTRA GROUPS'], rows);
}

export async function deleteToken(
  ctx: CliContext,
  tokenOrId: string,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const id = tokenOrId.split('.')[0];
  if (!idPattern.test(id)) throw new CliError(`"${tokenOrId}" is neither a token nor a token ID`);
  try {
    await secrets(ctx).delete(`bootstrap-token-${id}`);
  } catch (err) {
    if (isNotFound(err)) throw new CliError(`bootstrap token "${id}" not found`);
    throw err;
  }
  out.write(`bootstrap token "${id}" deleted\n`);
}

export function newTokenCommand(): Command {
  const token = new Command('token').description(
    'Manage bootstrap tokens, with which a new node joins the cluster (as kubeadm token does).',
  );
  token
    .command('create')
    .description('Create a bootstrap token and print it; a random one unless given.')
    .argument('[token]', 'the token, [a-z0-9]{6}.[a-z0-9]{16}')
    .option('--ttl <duration>', 'how long it is valid', '24h')
    .option('--description <text>', 'what it is for')
    .option(
      '--groups <groups>',
      'extra groups it authenticates as, comma-separated (system:bootstrappers:...)',
      'system:bootstrappers:kubeadm:default-node-token',
    )
    .addOption(
      boolFlag('--print-join-command', 'print the install.sh command that joins a machine with the token'),
    )
    .addOption(
      boolFlag(
        '--control-plane',
        'with --print-join-command: the command for a master (run this on a master)',
      ),
    )
    .action(
      async (
        t: string | undefined,
        o: {
          ttl: string;
          description?: string;
          groups: string;
          printJoinCommand?: boolean;
          controlPlane?: boolean;
        },
        cmd,
      ) => {
        await createToken(cliContext(cmd), { token: t, ...o });
      },
    );
  token
    .command('list')
    .description('List the bootstrap tokens.')
    .action(async (_o: unknown, cmd) => {
      await listTokens(cliContext(cmd));
    });
  token
    .command('delete')
    .description('Delete a bootstrap token (by token or by its ID).')
    .argument('<token>', 'the token or its 6-character ID')
    .action(async (t: string, _o: unknown, cmd) => {
      await deleteToken(cliContext(cmd), t);
    });
  return token;
}
