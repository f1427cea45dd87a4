import { loadConfig } from '@lapi/config';
import { createLogger } from './app.factory';

describe('pretty logs', () => {
  it('print control characters from client text escaped: no forged line, no terminal escape', () => {
    const config = loadConfig({ LAPI_LOG_FORMAT: 'pretty', LAPI_LOG_LEVEL: 'info' });
    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      createLogger(config).log("machine 'a\u001b[2K\r\n[Nest] 1 - LOG fake line' registered", 'Watchers');
    } finally {
      write.mockRestore();
    }
    const text = written.join('');
    expect(text).toContain("machine 'a\\x1b[2K\\r\\n[Nest] 1 - LOG fake line' registered");
    expect(text.trimEnd().split('\n')).toHaveLength(1);
  });
});
