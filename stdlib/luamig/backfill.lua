-- luamig.backfill: data migrations as Lua loops, fast and in constant memory.
--
--   local backfill = require("luamig.backfill")
--   backfill.update{
--     table = "users", key = "id", batch = 10000,
--     where = "phone_e164 IS NULL AND phone_number IS NOT NULL",
--     columns = { "phone_number" },
--     set = function(row) return { phone_e164 = normalize(row.phone_number) } end,
--   }
--
-- The table is walked in key order, one batch at a time (keyset pagination: WHERE key > last ORDER BY key LIMIT
-- batch, never OFFSET). set(row) receives the key and `columns` (as op.query rows) and returns the new values (a
-- table of column = value; nil skips the row). Each batch is written back with one set-based statement: COPY into a
-- temporary table, then one UPDATE ... FROM joined on the key (method = "copy", the default on PostgreSQL), or one
-- UPDATE ... FROM (VALUES ...) with bound parameters (method = "values").
--
-- commit_every_batch = true (only where no transaction is open: a migration declared `transactional = false`)
-- commits each batch together with its position in the table luamig_backfill_progress, so a killed run resumes
-- after the last committed batch instead of starting over. The trade-off: the backfill is no longer atomic. Other
-- sessions see the table half-updated while it runs, a failure leaves the committed batches in place, and the
-- migration is re-entered on the next `upgrade`: write set() and `where` so that running a row twice is harmless
-- (e.g. where = "domain IS NULL").
--
-- Progress goes to stderr (luamig.progress): a self-updating bar with rows, total, rows/s and ETA on a terminal;
-- otherwise a line with the same fields every 5 seconds and every progress_every batches (default 10); and a
-- summary line at the end (-q silences all of it). The total is `total` when given, else PostgreSQL's estimate
-- (pg_class.reltuples, shown as "~N"), else on a terminal an exact count.
--
-- Returns { rows = rows read, updated = rows written, batches = n, seconds = elapsed, resumed_from = key|nil }.
-- The engine's private helpers (clock, progress output, batched sends): handed to stdlib modules only, as the
-- chunk's second argument; never reachable from migrations.
local _, internal = ...
local progress = require("luamig.progress")

local M = {}

local PROGRESS_TABLE = "luamig_backfill_progress"
-- Bound parameters per VALUES statement: PostgreSQL takes 65535, Lua's unpack() about 8000.
local MAX_PARAMS = 7000

local function fail(msg, level) error("backfill.update: " .. msg, (level or 1) + 1) end

local function is_list_of_names(t)
  if type(t) ~= "table" then return false end
  for i = 1, #t do if type(t[i]) ~= "string" or t[i] == "" then return false end end
  return true
end

local known = {
  table = true, key = true, batch = true, where = true, columns = true, set = true, schema = true,
  commit_every_batch = true, name = true, method = true, progress_every = true, label = true, total = true,
}

local function validate(spec)
  if type(spec) ~= "table" then fail("expected a table of options, got " .. type(spec), 3) end
  for k in pairs(spec) do
    if not known[k] then fail("unknown option '" .. tostring(k) .. "'", 3) end
  end
  if type(spec.table) ~= "string" or spec.table == "" then fail("table must be a table name", 3) end
  if spec.key ~= nil and (type(spec.key) ~= "string" or spec.key == "") then fail("key must be a column name", 3) end
  if type(spec.set) ~= "function" then fail("set must be a function(row) returning the new values", 3) end
  if spec.columns ~= nil and not is_list_of_names(spec.columns) then fail("columns must be a list of column names", 3) end
  if spec.batch ~= nil and (type(spec.batch) ~= "number" or spec.batch < 1 or spec.batch > 1000000 or spec.batch % 1 ~= 0) then
    fail("batch must be a whole number from 1 to 1000000", 3)
  end
  if spec.where ~= nil and type(spec.where) ~= "string" and not (type(spec.where) == "table" and spec.where.sql) then
    fail("where must be SQL text", 3)
  end
  if spec.method ~= nil and spec.method ~= "unnest" and spec.method ~= "copy" and spec.method ~= "values" then
    fail("method must be \"unnest\", \"copy\" or \"values\"", 3)
  end
  if spec.progress_every ~= nil and (type(spec.progress_every) ~= "number" or spec.progress_every < 1) then
    fail("progress_every must be a number of batches (>= 1)", 3)
  end
  if spec.total ~= nil and (type(spec.total) ~= "number" or spec.total < 0) then
    fail("total must be a number of rows (>= 0)", 3)
  end
end

-- The catalog queries come from the database's renderer (caps.catalog, lua/dialect/interface.lua); each is false
-- where the database has none.

-- Column types of the table, for casts in the VALUES and unnest methods: name -> "bigint", "text"...
local function column_types(sql, qualified)
  local types = {}
  for row in op.query(sql, qualified) do types[row.name] = row.type end
  return types
end

-- Keyset pagination is only exact on a unique key.
local function key_is_unique(sql, qualified, key)
  return op.query_value(sql, qualified, key) ~= nil
end

local function ensure_progress_table()
  op.execute("CREATE TABLE IF NOT EXISTS " .. op.quote_ident(PROGRESS_TABLE) ..
    " (name text PRIMARY KEY, position text NOT NULL, rows bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP)")
end

local function format_count(n)
  local s = string.format("%d", n)
  local out = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return (out:gsub("^,", ""))
end

function M.update(spec)
  validate(spec)
  if op.offline then
    fail("needs a live database: it reads rows to compute their new values, which --sql (offline) mode cannot " ..
      "do; run this migration online (without --sql)", 2)
  end
  local commit_each = spec.commit_every_batch == true
  if commit_each and op.in_transaction() then
    fail("commit_every_batch = true needs a migration declared `transactional = false` (this one runs inside a " ..
      "transaction, which would have to be committed mid-migration)", 2)
  end

  -- Outside a transaction every batch gets one of its own (a temp table would not outlive its statement).
  local own_tx = commit_each or not op.in_transaction()
  local key = spec.key or "id"
  local batch = spec.batch or 10000
  local columns = spec.columns or {}
  -- The batched write methods need the database's capabilities (lua/dialect/<name>.lua caps): arrays as
  -- parameters (unnest), COPY (copy); without them, VALUES.
  local caps = internal.caps
  local catalog = caps.catalog
  local method = spec.method or (caps.array_params and "unnest" or "values")
  if (method == "unnest" and not caps.array_params) or (method == "copy" and not caps.copy) then method = "values" end
  local every = spec.progress_every or 10
  local q = op.quote_ident
  local target = spec.schema and (q(spec.schema) .. "." .. q(spec.table)) or q(spec.table)
  local label = spec.label or (spec.schema and (spec.schema .. "." .. spec.table) or spec.table)
  local where = spec.where and tostring(spec.where.sql or spec.where) or nil
  local qkey = q(key)

  if catalog.unique_key and not key_is_unique(catalog.unique_key, target, key) then
    fail("key '" .. key .. "' of " .. label .. " is not a unique column (primary key or single-column unique " ..
      "index): keyset pagination would skip or repeat rows", 2)
  end
  local types = catalog.column_types and method ~= "copy" and column_types(catalog.column_types, target) or nil
  -- unnest casts each array to its column's type: without the types, VALUES.
  if method == "unnest" and not types then method = "values" end

  -- The read: key plus the columns set() needs, in key order.
  local select_list, seen = { qkey }, { [key] = true }
  for _, c in ipairs(columns) do
    if not seen[c] then seen[c] = true; select_list[#select_list + 1] = q(c) end
  end
  local select_sql = "SELECT " .. table.concat(select_list, ", ") .. " FROM " .. target
  local first_sql = select_sql .. (where and (" WHERE (" .. where .. ")") or "") .. " ORDER BY " .. qkey .. " LIMIT " .. batch
  local next_sql = select_sql .. " WHERE " .. (where and ("(" .. where .. ") AND ") or "") .. qkey .. " > $1 ORDER BY " ..
    qkey .. " LIMIT " .. batch

  -- Resuming (committing mode): the position of the last committed batch.
  local name = spec.name or ((internal.call_context().revision or "") .. ":" .. label .. "." .. key)
  local position, done_before
  if commit_each then
    ensure_progress_table()
    local saved = op.query_one("SELECT position, rows FROM " .. q(PROGRESS_TABLE) .. " WHERE name = $1", name)
    if saved then
      position, done_before = saved.position, tonumber(saved.rows)
      internal.progress("backfill " .. label .. ": resuming after " .. key .. " = " .. tostring(position) .. " (" ..
        format_count(done_before) .. " rows done before)")
    end
  end
  local resumed_from = position

  local tty = internal.stderr_is_tty()
  -- The total for progress: given (spec.total), else the planner's estimate (PostgreSQL's pg_class.reltuples,
  -- free), else on a terminal an exact count (SQLite keeps no estimate).
  local total, estimated = spec.total, false
  if total == nil and catalog.row_estimate then
    local est = tonumber(op.query_value(catalog.row_estimate, target))
    if est and est > 0 then total, estimated = est, true end
  end
  if total == nil and tty then
    if position ~= nil then
      total = tonumber(op.query_value("SELECT count(*) FROM " .. target .. " WHERE " ..
        (where and ("(" .. where .. ") AND ") or "") .. qkey .. " > $1", position))
    else
      total = tonumber(op.query_value("SELECT count(*) FROM " .. target .. (where and (" WHERE (" .. where .. ")") or "")))
    end
  end

  -- Writers, one per set of columns set() returns (usually one).
  local writers, temp_seq = {}, 0
  local function writer_for(cols)
    local sig = table.concat(cols, "\0")
    local w = writers[sig]
    if w then return w end
    w = { cols = cols }
    local assigns = {}
    for i, c in ipairs(cols) do
      if types and not types[c] then fail("set() returned column '" .. c .. "', which " .. label .. " does not have", 5) end
      assigns[i] = q(c) .. " = s." .. q(c)
    end
    local m = method
    if m == "unnest" then
      -- One array parameter per column. An array-typed column cannot travel inside an array: COPY instead.
      local array_types = { (types[key] or "text") .. "[]" }
      for i, c in ipairs(cols) do
        if types[c]:find("%]$") then m = "copy" break end
        array_types[i + 1] = types[c] .. "[]"
      end
      if m == "unnest" then
        local args, names = {}, { qkey }
        for i, ty in ipairs(array_types) do args[i] = "$" .. i .. "::" .. ty end
        for _, c in ipairs(cols) do names[#names + 1] = q(c) end
        -- The key range lets the planner hash-join one index range scan instead of probing the index per row.
        local n = #array_types
        w.update = "UPDATE " .. target .. " AS t SET " .. table.concat(assigns, ", ") .. " FROM unnest(" ..
          table.concat(args, ", ") .. ") AS s(" .. table.concat(names, ", ") .. ") WHERE t." .. qkey .. " = s." .. qkey ..
          " AND t." .. qkey .. " >= $" .. (n + 1) .. " AND t." .. qkey .. " <= $" .. (n + 2)
      end
    end
    w.method = m
    if m == "copy" then
      temp_seq = temp_seq + 1
      w.temp_name = "luamig_backfill_" .. temp_seq
      w.temp = q(w.temp_name)
      local temp_cols, copy_cols = { qkey }, { key }
      for _, c in ipairs(cols) do
        temp_cols[#temp_cols + 1] = q(c)
        copy_cols[#copy_cols + 1] = c
      end
      w.copy_cols = copy_cols
      -- The source table gives the temp table its exact column types; ON COMMIT DROP cleans up in every mode.
      w.create = "CREATE TEMPORARY TABLE " .. w.temp .. " ON COMMIT DROP AS SELECT " ..
        table.concat(temp_cols, ", ") .. " FROM " .. target .. " WITH NO DATA"
      w.update = "UPDATE " .. target .. " AS t SET " .. table.concat(assigns, ", ") .. " FROM " .. w.temp ..
        " AS s WHERE t." .. qkey .. " = s." .. qkey .. " AND t." .. qkey .. " >= $1 AND t." .. qkey .. " <= $2"
    elseif m == "values" then
      w.assigns = table.concat(assigns, ", ")
    end
    writers[sig] = w
    return w
  end

  -- A group's rows as lists { key, v1, v2... } (the COPY and VALUES paths).
  local function group_rows(g)
    local rows, nv = {}, #g.cols
    for i = 1, g.n do
      local r = { g.keys[i] }
      for j = 1, nv do r[j + 1] = g.vals[j][i] end
      rows[i] = r
    end
    return rows
  end

  -- COPY path: (re)create the temp table when the transaction that made it has ended (ON COMMIT DROP), else
  -- empty it; load the batch; one UPDATE joined on the key, its range given to help the planner.
  local tx_seq = 0
  local function write_copy(w, g)
    if w.created_in ~= tx_seq then
      op.execute(w.create)
      w.created_in = tx_seq
    else
      op.execute("TRUNCATE " .. w.temp)
    end
    op.copy_rows(w.temp_name, w.copy_cols, group_rows(g))
    return op.execute(w.update, g.keys[1], g.keys[g.n])
  end

  -- VALUES path: bound parameters, cast to the columns' types, in as many statements as the parameter limit needs.
  local function write_values(w, g)
    local rows = group_rows(g)
    local ncols = #w.cols + 1
    local per_stmt = math.max(1, math.floor(MAX_PARAMS / ncols))
    local n = 0
    local names = { qkey }
    for _, c in ipairs(w.cols) do names[#names + 1] = q(c) end
    for first = 1, #rows, per_stmt do
      local last = math.min(#rows, first + per_stmt - 1)
      if caps.values_aliases then
        local tuples, params, p = {}, {}, 0
        for i = first, last do
          local r = rows[i]
          local slots = {}
          for j = 1, ncols do
            p = p + 1
            params[p] = r[j]
            local ty = types and types[j == 1 and key or w.cols[j - 1]]
            slots[j] = ty and ("$" .. p .. "::" .. ty) or ("$" .. p)
          end
          tuples[#tuples + 1] = "(" .. table.concat(slots, ", ") .. ")"
        end
        local sql = "UPDATE " .. target .. " AS t SET " .. w.assigns .. " FROM (VALUES " .. table.concat(tuples, ", ") ..
          ") AS s(" .. table.concat(names, ", ") .. ") WHERE t." .. qkey .. " = s." .. qkey
        n = n + op.execute(sql, unpack(params, 1, p))
      else
        -- No column names on a VALUES alias (SQLite): one UPDATE per row inside the transaction is its fast path.
        local sets = {}
        for j, c in ipairs(w.cols) do sets[j] = q(c) .. " = $" .. (j + 1) end
        local one = "UPDATE " .. target .. " SET " .. table.concat(sets, ", ") .. " WHERE " .. qkey .. " = $1"
        for i = first, last do n = n + op.execute(one, unpack(rows[i], 1, ncols)) end
      end
    end
    return n
  end

  local started = internal.clock()
  local rows_read, rows_written, batches = 0, 0, 0
  local meter = progress.new{ label = "backfill " .. label, total = total, estimated = estimated, terminal = tty,
    every = every }

  local function report(final)
    if final then
      local elapsed = internal.clock() - started
      local rate = elapsed > 0 and rows_read / elapsed or 0
      internal.progress("backfill " .. label .. ": done, " .. format_count(rows_read) .. " rows read, " ..
        format_count(rows_written) .. " updated in " .. batches .. " batch" .. (batches == 1 and "" or "es") ..
        string.format(" (%.1fs, %s rows/s)", elapsed, format_count(math.floor(rate))))
      return
    end
    meter:update(rows_read, batches)
  end

  local set = spec.set
  local NULL = op.NULL
  local array_literal = internal.array_literal
  local read_names = {}
  for i in ipairs(select_list) do read_names[i] = i == 1 and key or columns[i - 1] end
  local t_read, t_compute, t_write = 0, 0, 0

  -- Reads the next batch into C++ (one round trip; the rows are turned into Lua values by compute()).
  local function fetch()
    local t0 = internal.clock()
    local stream = position == nil and internal.query_all(first_sql) or internal.query_all(next_sql, position)
    t_read = t_read + (internal.clock() - t0)
    return stream
  end

  -- Turns a fetched batch into groups of new values: { cols, n, keys = {...}, vals = { {...}, ... } }.
  -- set() gets one row table, reused from row to row.
  local function compute(stream)
    local t0 = internal.clock()
    local names, data, n = stream:columns_data()
    local batch_out = { n = n, groups = {}, order = {} }
    if n == 0 then
      t_compute = t_compute + (internal.clock() - t0)
      return batch_out
    end
    local cols_in = {}
    for i, nm in ipairs(names) do cols_in[i] = data[nm] end
    local keys_in = cols_in[1]
    batch_out.last_key = keys_in[n]
    local nin = #names
    local row = {}
    local groups, order = batch_out.groups, batch_out.order
    local cur, cur_n, cur_has
    for i = 1, n do
      for j = 1, nin do row[read_names[j]] = cols_in[j][i] end
      local new = set(row)
      if new ~= nil then
        if type(new) ~= "table" then fail("set() must return a table of new values or nil, got " .. type(new), 4) end
        local m, same = 0, cur ~= nil
        for c in pairs(new) do
          m = m + 1
          if same and not cur_has[c] then same = false end
        end
        if m > 0 then
          if not same or m ~= cur_n then
            local cols = {}
            for c in pairs(new) do
              if type(c) ~= "string" then fail("set() returned a table with a non-string key", 4) end
              cols[#cols + 1] = c
            end
            table.sort(cols)
            local sig = table.concat(cols, "\0")
            cur = groups[sig]
            if not cur then
              cur = { cols = cols, n = 0, keys = {}, vals = {} }
              for j = 1, m do cur.vals[j] = {} end
              groups[sig] = cur
              order[#order + 1] = sig
            end
            cur_n, cur_has = m, {}
            for _, c in ipairs(cols) do cur_has[c] = true end
          end
          local k = cur.n + 1
          cur.n = k
          cur.keys[k] = keys_in[i]
          local cols, vals = cur.cols, cur.vals
          for j = 1, m do
            local v = new[cols[j]]
            if v == NULL then v = nil end
            vals[j][k] = v
          end
        end
      end
    end
    t_compute = t_compute + (internal.clock() - t0)
    return batch_out
  end

  -- Writes a computed batch. The unnest statement of the last group is only sent: the caller computes the next
  -- batch while the server runs it, then calls finish().
  local in_flight = false
  local function write(b)
    local t0 = internal.clock()
    for idx, sig in ipairs(b.order) do
      local g = b.groups[sig]
      local w = writer_for(g.cols)
      if w.method == "unnest" then
        local nargs = #g.cols + 1
        local args = { array_literal(g.keys, g.n) }
        for j = 1, #g.cols do
          local ok, text = pcall(array_literal, g.vals[j], g.n)
          if not ok then
            local bad
            for i = 1, g.n do
              local t = type(g.vals[j][i])
              if t ~= "string" and t ~= "number" and t ~= "boolean" and t ~= "nil" then bad = t break end
            end
            fail("set() returned a " .. tostring(bad) .. " for column '" .. g.cols[j] ..
              "'; values are strings, numbers, booleans or op.NULL", 4)
          end
          args[j + 1] = text
        end
        args[nargs + 1], args[nargs + 2] = g.keys[1], g.keys[g.n]
        if idx == #b.order then
          internal.send(w.update, unpack(args, 1, nargs + 2))
          in_flight = true
        else
          rows_written = rows_written + op.execute(w.update, unpack(args, 1, nargs + 2))
        end
      elseif w.method == "copy" then
        rows_written = rows_written + write_copy(w, g)
      else
        rows_written = rows_written + write_values(w, g)
      end
    end
    t_write = t_write + (internal.clock() - t0)
  end
  local function finish()
    if in_flight then
      local t0 = internal.clock()
      in_flight = false
      rows_written = rows_written + internal.wait_sent()
      t_write = t_write + (internal.clock() - t0)
    end
  end

  local function record(b)
    if commit_each then
      op.execute("INSERT INTO " .. q(PROGRESS_TABLE) .. " (name, position, rows) VALUES ($1, $2, $3) " ..
        "ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, rows = EXCLUDED.rows, updated_at = CURRENT_TIMESTAMP",
        name, b.last_key, (done_before or 0) + rows_read)
    end
  end

  -- The loop, pipelined: batch n+1 is fetched before batch n's UPDATE is sent, and computed while it runs.
  --   own transaction per batch: BEGIN; fetch n+1; send UPDATE n; compute n+1; wait; record n; COMMIT
  local current = compute(fetch())
  while current.n > 0 do
    local function one()
      position = current.last_key
      local nextb
      local more = current.n == batch
      local stream = more and fetch() or nil
      write(current)
      if stream then nextb = compute(stream) end
      finish()
      rows_read = rows_read + current.n
      batches = batches + 1
      record(current)
      return nextb
    end
    local nextb
    if own_tx then
      tx_seq = tx_seq + 1
      op.transaction(function() nextb = one() end)
    else
      nextb = one()
    end
    report(false)
    current = nextb or { n = 0 }
  end

  meter:finish()
  -- The temp tables of this transaction go now, so a later backfill in it can reuse their names.
  for _, w in pairs(writers) do
    if w.temp and w.created_in == tx_seq and not own_tx then op.execute("DROP TABLE " .. w.temp) end
  end
  if commit_each then op.execute("DELETE FROM " .. q(PROGRESS_TABLE) .. " WHERE name = $1", name) end
  report(true)
  return { rows = rows_read, updated = rows_written, batches = batches, seconds = internal.clock() - started,
    resumed_from = resumed_from, timings = { read = t_read, compute = t_compute, write = t_write } }
end

return M
