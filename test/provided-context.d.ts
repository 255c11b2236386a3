// Values test/global-setup.ts provides to the tests.
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    fakeGeminiUrl: string;
    alertReceiverUrl: string;
    fakeTurnstileUrl: string;
    toolOwnerUrl: string;
  }
}
