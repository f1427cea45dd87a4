import { CLOCK, DeleteMachine, LogInMachine, RecordHeartbeat, RegisterMachine, type Clock } from '@lapi/application';
import { autoRegistrationAccepted, DomainError, MachineAlreadyExistsError, MachineNotFoundError } from '@lapi/domain';
import {
  watcherAuthRequest,
  watcherRegistrationRequest,
  type WatcherAuthRequest,
  type WatcherAuthResponse,
  type WatcherRegistrationRequest,
} from '@lapi/lapi-contract';
import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_OPTIONS, type ApiOptions } from '../api-options';
import { CurrentMachine } from '../auth/current.decorators';
import { LoginThrottle } from '../auth/login-throttle';
import { MachineJwtGuard } from '../auth/machine-jwt.guard';
import { MachineTokenCheck } from '../auth/machine-token-check';
import { logInByCertificate } from '../auth/tls/certificate-login';
import { extractToken } from '../auth/token-extractor';
import type { MachineIdentity } from '../auth/token.service';
import { MAX_REFRESH_S, TokenService } from '../auth/token.service';
import { clientIp } from '../http/client-ip';
import { JwtAuthError, LapiHttpError } from '../http/http-errors';
import { LapiBodyPipe } from '../http/lapi-body.pipe';
import { requestContext } from '../http/request-context';

// Login failures are all the JWT middleware's 401s (middlewares/v1/jwt.go Authenticator).
const loginBody = new LapiBodyPipe<WatcherAuthRequest>(watcherAuthRequest, {
  invalidJson: (reason) => new JwtAuthError(`missing: ${reason}`),
  invalid: () => new JwtAuthError('input format error'),
});

@Controller('v1')
export class WatchersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly tokens: TokenService,
    private readonly throttle: LoginThrottle,
    private readonly tokenCheck: MachineTokenCheck,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(API_OPTIONS) private readonly options: ApiOptions,
  ) {}

  /** 201 pending; 202 validated at once by the auto-registration token (reference ≥1.6.5). */
  @Post('watchers')
  async register(
    @Body(new LapiBodyPipe(watcherRegistrationRequest)) body: WatcherRegistrationRequest,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const ip = clientIp(request);
    if (this.options.disableRemoteRegistration && !isLoopback(ip)) {
      throw new LapiHttpError(403, 'access forbidden');
    }
    const validated = autoRegistrationAccepted(this.options.autoRegistration, body.registration_token, ip);
    // Registering an existing name checks its password: it is a login attempt, under the same limits and 429,
    // or it would answer the guesses login refuses.
    await this.throttle.check(ip, body.machine_id);
    try {
      await this.commands.execute(
        new RegisterMachine(
          body.machine_id,
          body.password,
          ip,
          validated,
          requestContext(request, { kind: 'machine', id: body.machine_id }),
        ),
      );
    } catch (error) {
      await (error instanceof MachineAlreadyExistsError
        ? this.throttle.failed(ip, body.machine_id)
        : this.throttle.givenBack(ip, body.machine_id));
      throw error;
    }
    await this.throttle.givenBack(ip, body.machine_id);
    void reply.status(validated ? 202 : 201);
  }

  @Post('watchers/login')
  @HttpCode(200)
  async login(@Body() raw: unknown, @Req() request: FastifyRequest): Promise<WatcherAuthResponse> {
    // A client certificate replaces the credentials, so the body is only validated for a password login.
    const byCertificate = await logInByCertificate(this.commands, this.options.clientCertificates, raw, request);
    if (byCertificate !== null) {
      // A machine this replica saw missing a moment ago exists now.
      this.tokenCheck.forget(byCertificate.machineId);
      return this.tokens.issue(byCertificate.machineId, this.clock.now(), { certSerial: byCertificate.certSerial });
    }
    const body = loginBody.transform(raw);
    const ip = clientIp(request);
    // Refused before the password is even compared: a guess past the limit cannot be told right from wrong.
    await this.throttle.check(ip, body.machine_id);
    try {
      const machineId = await this.commands.execute(
        new LogInMachine(
          body.machine_id,
          body.password,
          body.scenarios ?? null,
          ip,
          request.headers['user-agent'],
          requestContext(request, { kind: 'machine', id: body.machine_id }),
        ),
      );
      await this.throttle.givenBack(ip, body.machine_id);
      this.tokenCheck.forget(machineId);
      return this.tokens.issue(machineId, this.clock.now());
    } catch (error) {
      if (error instanceof DomainError) {
        await this.throttle.failed(ip, body.machine_id);
      } else {
        await this.throttle.givenBack(ip, body.machine_id); // the server failed, not the credentials
      }
      if (error instanceof MachineNotFoundError) {
        throw new JwtAuthError('ent: machine not found'); // the reference leaks its ORM's text here
      }
      if (error instanceof DomainError) {
        throw new JwtAuthError(error.message);
      }
      throw error;
    }
  }

  /**
   * Not called by any CrowdSec client; kept for parity (middlewares/v1/jwt.go RefreshHandler). Unlike gin-jwt, the
   * new token keeps the login's orig_iat, so refreshing cannot extend a token forever, and its machine must still
   * honour it.
   */
  @Get('refresh_token')
  async refresh(@Req() request: FastifyRequest): Promise<WatcherAuthResponse> {
    const token = extractToken(request);
    if (!token) {
      throw new JwtAuthError('cookie token is empty');
    }
    let claims;
    try {
      claims = this.tokens.verifyIgnoringExpiry(token);
    } catch {
      throw new JwtAuthError(
        token.split('.').length !== 3 ? 'token contains an invalid number of segments' : 'signature is invalid',
      );
    }
    const now = this.clock.now();
    const { id, orig_iat: origIat, cert_serial: certSerial } = claims;
    if (typeof origIat !== 'number' || Math.floor(now.getTime() / 1000) > origIat + MAX_REFRESH_S) {
      throw new JwtAuthError('token is expired');
    }
    if (typeof id !== 'string' || id === '') {
      throw new JwtAuthError('token has no machine id');
    }
    await this.tokenCheck.assertHonoured({ id, orig_iat: origIat, cert_serial: certSerial });
    return this.tokens.issue(id, now, { origIat, ...(typeof certSerial === 'string' ? { certSerial } : {}) });
  }

  @Get('heartbeat')
  @UseGuards(MachineJwtGuard)
  async heartbeat(@CurrentMachine() machine: MachineIdentity, @Req() request: FastifyRequest): Promise<void> {
    await this.commands.execute(
      new RecordHeartbeat(machine.machineId, requestContext(request, { kind: 'machine', id: machine.machineId })),
    );
  }

  @Delete('watchers/self')
  @HttpCode(204)
  @UseGuards(MachineJwtGuard)
  async deleteSelf(@CurrentMachine() machine: MachineIdentity, @Req() request: FastifyRequest): Promise<void> {
    try {
      await this.commands.execute(
        new DeleteMachine(machine.machineId, requestContext(request, { kind: 'machine', id: machine.machineId })),
      ); // announced: its tokens are refused here and on every replica (MachineTokenCheck follows deletions)
    } catch (error) {
      if (error instanceof MachineNotFoundError) {
        // The reference answers 500 here; a token for a machine deleted since is the client's state, not a crash.
        throw new LapiHttpError(404, `'${machine.machineId}' does not exist`);
      }
      throw error;
    }
  }
}

const isLoopback = (ip: string): boolean => ip === '127.0.0.1' || ip === '::1' || ip === '';
