// The MySQL reader against a real MariaDB/MySQL server (TEST_MYSQL_URL): what the shared snapshot SQL needs of it.
import { createScratchMysqlDatabase } from '@lapi/testing';
import { mysqlOptionsFromUrl } from './crowdsec-config';
import { openMysql, type SourceDb } from './source-db';

describe('openMysql', () => {
  let scratch: { url: string; drop(): Promise<void> };
  let writer: import('mysql2/promise').Connection;
  const opened: SourceDb[] = [];
  const open = async (url: string) => {
    const db = await openMysql(mysqlOptionsFromUrl(url));
    opened.push(db);
    return db;
  };

  beforeAll(async () => {
    scratch = await createScratchMysqlDatabase('lapi_test_source_db');
    const { createConnection } = await import('mysql2/promise');
    writer = await createConnection({ uri: scratch.url });
    // As 1.4.6 creates it on MySQL: "key"/"value" need quoting, times are `timestamp`.
    await writer.query(
      'create table meta (id bigint auto_increment primary key, created_at timestamp null, `key` varchar(255) ' +
        'not null, `value` varchar(4095) not null, alert_metas bigint)',
    );
    await writer.query(
      "insert into meta (created_at, `key`, `value`, alert_metas) values ('2026-12-08 05:31:17', 'target_user', 'root', 7)",
    );
  });

  afterAll(async () => {
    for (const db of opened) {
      await db.close().catch(() => undefined);
    }
    await writer?.end();
    await scratch?.drop();
  });

  it('runs the shared SQL: double-quoted names, ? parameters, times as the text CrowdSec wrote', async () => {
    const db = await open(scratch.url);
    expect(await db.all('select "key", "value", created_at from meta where alert_metas in (?)', [7])).toEqual([
      { key: 'target_user', value: 'root', created_at: '2026-12-08 05:31:17' },
    ]);
    expect(await db.tables()).toEqual(new Set(['meta']));
    expect(await db.columns('meta')).toEqual(new Set(['id', 'created_at', 'key', 'value', 'alert_metas']));
  });

  it('reads one snapshot, and writes nothing', async () => {
    const db = await open(scratch.url);
    const count = async () => Number((await db.all('select count(*) as n from meta'))[0].n);
    expect(await count()).toBe(1);
    await writer.query("insert into meta (`key`, `value`, alert_metas) values ('later', 'x', 8)");
    expect(await count()).toBe(1); // what CrowdSec writes meanwhile is not half-read
    await expect(db.all('insert into meta ("key", "value") values (\'k\', \'v\')')).rejects.toThrow(/READ ONLY/i);
  });

  it('with sslmode=preferred uses TLS when the server offers it, else connects without', async () => {
    const db = await open(`${scratch.url}?sslmode=preferred`);
    expect(await db.all('select 1 as one')).toEqual([{ one: 1 }]);
  });

  it('says why it cannot connect, and refuses an sslmode go-sql-driver does not know', async () => {
    const refused = new URL(scratch.url);
    refused.port = '1';
    await expect(open(refused.toString())).rejects.toThrow(
      /^cannot reach the CrowdSec MySQL database: connect ECONNREFUSED/,
    );
    await expect(open(`${scratch.url}?sslmode=require`)).rejects.toThrow(
      "MySQL sslmode 'require' is not one of true, false, skip-verify, preferred",
    );
  });
});
