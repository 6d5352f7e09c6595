// What goes wrong with a lab in a way its operator can act on (a node that does not start, a lab file
// that is not one, a control request refused): the `post` command prints the message alone.
export class LabError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'LabError';
  }
}
