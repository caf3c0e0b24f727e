#pragma once
#include <memory>

#include "config/config.h"
#include "store/store.h"

namespace tbpay {

// PostgreSQL when DATABASE_URL is postgres(ql)://, else the SQLite file Config::sqlite_path().
// Does not connect: the first call that needs the database does, and reconnects after errors.
std::unique_ptr<Database> open_database(const Config& config);

}  // namespace tbpay
