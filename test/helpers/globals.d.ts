// Tests read many JSON bodies whose shape they then assert on; let `Response.json()` be untyped there.
declare global {
  interface Response {
    json(): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  }
}
export {};
