import { createServer } from 'node:http';
import express from 'express';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { privacyLog } from '../../middleware/express.js';
import { expressHarness } from '../helpers/express-harness.js';
import { adapterCases } from './adapters/cases.js';

adapterCases('express', expressHarness);

describe('express: misuse', () => {
  it('app.use(privacyLog) passes a coded error telling to call it', async () => {
    const app = express();
    const errors: unknown[] = [];
    app.use(privacyLog as never);
    app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      errors.push(err);
      res.status(500).send('misconfigured');
    });
    const res = await supertest(createServer(app)).get('/');
    expect(res.status).toBe(500);
    expect(errors[0]).toMatchObject({
      code: 'PRIVACY_LOG_E_NOT_CALLED',
      message: expect.stringContaining('app.use(privacyLog())'),
    });
  });
});
