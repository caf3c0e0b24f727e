#pragma once
// What tbpay reads and writes of the core service's tables: the columns and enum values both
// stores need (`tbpay doctor` compares a live database with it).
#include <array>
#include <string_view>

namespace tbpay {

struct ContractColumn {
  std::string_view table;
  std::string_view column;
  std::string_view pg_type;  // pg_type.typname on PostgreSQL
};

inline constexpr std::array<ContractColumn, 26> kContractColumns{{
    {"payments", "id", "text"},
    {"payments", "orderCode", "text"},
    {"payments", "amountCents", "int4"},
    {"payments", "currency", "Currency"},
    {"payments", "provider", "text"},
    {"payments", "providerTransactionId", "text"},
    {"payments", "idempotencyKey", "text"},
    {"payments", "redirectUrl", "text"},
    {"payments", "paymentUrl", "text"},
    {"payments", "status", "PaymentStatus"},
    {"payments", "metadata", "jsonb"},
    {"payments", "createdAt", "timestamp"},
    {"payments", "updatedAt", "timestamp"},
    {"payments", "completedAt", "timestamp"},
    {"payments", "failedAt", "timestamp"},
    {"payments", "cancelledAt", "timestamp"},
    {"outbox", "id", "text"},
    {"outbox", "aggregateId", "text"},
    {"outbox", "aggregateType", "text"},
    {"outbox", "eventType", "text"},
    {"outbox", "payload", "jsonb"},
    {"outbox", "published", "bool"},
    {"outbox", "publishedAt", "timestamp"},
    {"outbox", "createdAt", "timestamp"},
    {"outbox", "retryCount", "int4"},
    {"outbox", "lastError", "text"},
}};

struct ContractEnum {
  std::string_view type;
  std::string_view value;
};

// PostgreSQL enums (SQLite has CHECK constraints instead).
inline constexpr std::array<ContractEnum, 5> kContractEnumValues{{
    {"PaymentStatus", "PENDING"},
    {"PaymentStatus", "COMPLETED"},
    {"PaymentStatus", "FAILED"},
    {"PaymentStatus", "CANCELLED"},
    {"Currency", "VND"},
}};

}  // namespace tbpay
