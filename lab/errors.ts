// What goes wrong in a way the operator can act on (a node that does not start, a lab file that is not
// one, a control request refused, a command's own operating failure): the `post` command prints the
// message alone and exits with `exitCode`. The command knows it as CommandError (cli/args.ts).
export class OperatorError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'OperatorError';
  }
}
