/** The parts of dcmjs (which ships no type declarations) that Enkaku uses. */
declare module 'dcmjs' {
  interface DictionaryEntry {
    tag: string;
    vr?: string;
    vm?: string;
    name?: string;
  }
  const dcmjs: {
    data: {
      DicomMetaDictionary: { dictionary: Record<string, DictionaryEntry | undefined> };
      [key: string]: any;
    };
    [key: string]: any;
  };
  export default dcmjs;
}
