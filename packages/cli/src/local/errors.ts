/** An error the user can act on: what went wrong, and what to do next. */
export class LocalError extends Error {
  override readonly name = "LocalError";
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}
