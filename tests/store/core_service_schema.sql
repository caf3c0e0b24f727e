-- The core service's tables, written by hand from docs/database.md (the contract), not by
-- tbpay: tests run the stores against this to prove they work on tables tbpay did not create.
CREATE TYPE public."PaymentStatus" AS ENUM ('PENDING', 'COMPLETED', 'FAILED', 'CANCELLED');
CREATE TYPE public."Currency" AS ENUM ('VND');

CREATE TABLE public.payments (
  id                      text PRIMARY KEY,
  "orderCode"             text NOT NULL UNIQUE,
  "amountCents"           integer NOT NULL,
  currency                "Currency" NOT NULL,
  provider                text NOT NULL,
  "providerTransactionId" text NOT NULL,
  "idempotencyKey"        text NOT NULL UNIQUE,
  "redirectUrl"           text NOT NULL,
  "paymentUrl"            text NOT NULL,
  status                  "PaymentStatus" NOT NULL,
  metadata                jsonb,
  "createdAt"             timestamp(3) without time zone NOT NULL DEFAULT now(),
  "updatedAt"             timestamp(3) without time zone NOT NULL,
  "completedAt"           timestamp(3) without time zone,
  "failedAt"              timestamp(3) without time zone,
  "cancelledAt"           timestamp(3) without time zone
);
CREATE INDEX ON public.payments ("orderCode");

CREATE TABLE public.outbox (
  id              text PRIMARY KEY,
  "aggregateId"   text NOT NULL,
  "aggregateType" text NOT NULL,
  "eventType"     text NOT NULL,
  payload         jsonb NOT NULL,
  published       boolean NOT NULL DEFAULT false,
  "publishedAt"   timestamp(3) without time zone,
  "createdAt"     timestamp(3) without time zone NOT NULL DEFAULT now(),
  "retryCount"    integer NOT NULL DEFAULT 0,
  "lastError"     text
);
CREATE INDEX ON public.outbox (published, "createdAt");
