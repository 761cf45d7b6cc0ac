/**
 * Progress for long work: a spinner line on a terminal, plain stable lines in
 * a pipe (and under CI). `step(text, fn)` shows the step, runs it, and
 * reports done or failed.
 */
export interface Progress {
  step<T>(text: string, fn: () => Promise<T>, doneText?: (r: T) => string): Promise<T>;
  info(text: string): void;
}

const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function newProgress(out: NodeJS.WriteStream = process.stderr): Progress {
  const tty = out.isTTY === true && !process.env.CI;
  const color = (code: number, s: string) => (tty ? `\u001b[${code}m${s}\u001b[0m` : s);
  return {
    info(text) {
      out.write(`${text}\n`);
    },
    async step(text, fn, doneText) {
      let i = 0;
      const timer = tty
        ? setInterval(() => out.write(`\r${frames[i++ % frames.length]} ${text}`), 80)
        : undefined;
      if (!tty) out.write(`${text} ...\n`);
      try {
        const r = await fn();
        if (timer) clearInterval(timer);
        const msg = doneText ? doneText(r) : text;
        out.write(tty ? `\r\u001b[2K${color(32, '✓')} ${msg}\n` : `${msg}: done\n`);
        return r;
      } catch (err) {
        if (timer) clearInterval(timer);
        out.write(tty ? `\r\u001b[2K${color(31, '✗')} ${text}\n` : `${text}: failed\n`);
        throw err;
      }
    },
  };
}
