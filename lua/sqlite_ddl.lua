-- SQLite DDL at the token level, for table rebuilds: the stored CREATE TABLE / INDEX / TRIGGER / VIEW text from
-- sqlite_master is split into tokens the way SQLite's own tokenizer splits it (identifiers in every quoting form,
-- string and blob literals, numbers, parameters, comments, operators), so that renaming touches identifiers only,
-- a literal such as 'status' or 0.00001 is carried over byte for byte, and parentheses are matched where they are
-- tokens, not inside a quoted name. Pure functions over strings; written in Lua because its only callers are the
-- Lua rebuilds, and it needs no host function a migration could reach.
local M = {}
local sub, byte, find, upper, concat = string.sub, string.byte, string.find, string.upper, table.concat

-- SQLite's keywords (https://sqlite.org/lang_keywords.html). A bare word that is one is never renamed.
local keywords = {}
for w in ([[ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN BETWEEN BY
  CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME
  CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH DISTINCT DO DROP EACH ELSE END ESCAPE
  EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP
  GROUPS HAVING IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS ISNULL JOIN KEY
  LAST LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT NOTHING NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS
  OUTER OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE REFERENCES REGEXP REINDEX RELEASE
  RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK ROW ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO
  TRANSACTION TRIGGER UNBOUNDED UNION UNIQUE UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT
  TRUE FALSE]]):gmatch("%S+") do
  keywords[w] = true
end
M.keywords = keywords

local function is_space(c) return c == 32 or (c >= 9 and c <= 13) end
local function is_ident_start(c) return c == 95 or (c >= 65 and c <= 90) or (c >= 97 and c <= 122) or c >= 128 end
local function is_ident_char(c) return is_ident_start(c) or (c >= 48 and c <= 57) or c == 36 end
local function is_digit(c) return c and c >= 48 and c <= 57 end

local two_char_ops = { ["||"] = true, ["<="] = true, [">="] = true, ["=="] = true, ["!="] = true, ["<>"] = true,
  ["<<"] = true, [">>"] = true, ["->"] = true }

-- Reads a quoted run starting at i (the opening quote); a doubled closing quote is an escaped one, except for
-- [brackets], which have no escape. Returns the index of the closing quote and the unquoted text.
local function quoted(s, i, close)
  local j, parts, from = i + 1, {}, i + 1
  while true do
    local k = find(s, close, j, true)
    if not k then error("unterminated quoted text at offset " .. i .. " in: " .. s, 0) end
    if close ~= "]" and sub(s, k + 1, k + 1) == close then
      parts[#parts + 1] = sub(s, from, k)
      j, from = k + 2, k + 2
    else
      parts[#parts + 1] = sub(s, from, k - 1)
      return k, concat(parts)
    end
  end
end

-- Tokens of `sql`: { t = kind, s = text as written, v = value }, kinds: space, comment, word (bare identifier or
-- keyword; v = text), ident (quoted identifier; v = the name), string (v = the text), blob, number, param, op.
-- Concatenating every token's `s` gives `sql` back exactly.
function M.tokenize(sql)
  local out, i, n = {}, 1, #sql
  while i <= n do
    local c = byte(sql, i)
    local j, t, v
    if is_space(c) then
      j = i
      while j < n and is_space(byte(sql, j + 1)) do j = j + 1 end
      t = "space"
    elseif c == 45 and byte(sql, i + 1) == 45 then -- --
      j = find(sql, "\n", i, true) or n
      t = "comment"
    elseif c == 47 and byte(sql, i + 1) == 42 then -- /*
      local _, e = find(sql, "*/", i + 2, true)
      j, t = e or n, "comment"
    elseif c == 39 then -- '
      j, v = quoted(sql, i, "'")
      t = "string"
    elseif c == 34 or c == 96 then -- " `
      j, v = quoted(sql, i, c == 34 and '"' or "`")
      t = "ident"
    elseif c == 91 then -- [
      j, v = quoted(sql, i, "]")
      t = "ident"
    elseif (c == 88 or c == 120) and byte(sql, i + 1) == 39 then -- X'..'
      j = quoted(sql, i + 1, "'")
      t = "blob"
    elseif is_digit(c) or (c == 46 and is_digit(byte(sql, i + 1))) then
      j = i
      if c == 48 and (byte(sql, i + 1) == 120 or byte(sql, i + 1) == 88) then
        j = i + 1
        while j < n and find(sub(sql, j + 1, j + 1), "^%x") do j = j + 1 end
      else
        while is_digit(byte(sql, j + 1)) do j = j + 1 end
        if byte(sql, j + 1) == 46 then
          j = j + 1
          while is_digit(byte(sql, j + 1)) do j = j + 1 end
        end
        local e = byte(sql, j + 1)
        if e == 101 or e == 69 then
          local k = j + 2
          local sign = byte(sql, k)
          if sign == 43 or sign == 45 then k = k + 1 end
          if is_digit(byte(sql, k)) then
            j = k
            while is_digit(byte(sql, j + 1)) do j = j + 1 end
          end
        end
      end
      t = "number"
    elseif is_ident_start(c) then
      j = i
      while j < n and is_ident_char(byte(sql, j + 1)) do j = j + 1 end
      t = "word"
      v = sub(sql, i, j)
    elseif c == 63 or c == 58 or c == 64 or c == 36 then -- ? : @ $
      j = i
      while j < n and is_ident_char(byte(sql, j + 1)) do j = j + 1 end
      t = "param"
    else
      local two = sub(sql, i, i + 1)
      if sub(sql, i, i + 2) == "->>" then j = i + 2
      elseif two_char_ops[two] then j = i + 1
      else j = i end
      t = "op"
    end
    out[#out + 1] = { t = t, s = sub(sql, i, j), v = v }
    i = j + 1
  end
  return out
end

local function significant(tok) return tok.t ~= "space" and tok.t ~= "comment" end
M.significant = significant

-- Upper-cased bare word, or nil.
local function kw(tok) return tok and tok.t == "word" and upper(tok.s) or nil end
M.kw = kw

-- An identifier's name: a quoted identifier's content, a bare word as written; nil for anything else. SQLite also
-- takes a 'string' where a name is expected in some places (CREATE TABLE 'x'); that is accepted too.
local function name_of(tok)
  if not tok then return nil end
  if tok.t == "ident" or tok.t == "string" then return tok.v end
  if tok.t == "word" then return tok.s end
  return nil
end
M.name_of = name_of

-- SQLite compares identifiers case-insensitively for ASCII letters.
local function same_name(a, b) return a ~= nil and b ~= nil and upper(a) == upper(b) end
M.same_name = same_name

function M.text(tokens, i, j)
  local parts = {}
  for k = i or 1, j or #tokens do parts[#parts + 1] = tokens[k].s end
  return concat(parts)
end

-- Index of the next significant token after i (or nil).
local function next_sig(tokens, i)
  for k = i + 1, #tokens do if significant(tokens[k]) then return k end end
  return nil
end
local function prev_sig(tokens, i)
  for k = i - 1, 1, -1 do if significant(tokens[k]) then return k end end
  return nil
end
M.next_sig, M.prev_sig = next_sig, prev_sig

-- Index of the ")" matching the "(" at i.
local function matching(tokens, i)
  local depth = 0
  for k = i, #tokens do
    local s = tokens[k].t == "op" and tokens[k].s
    if s == "(" then depth = depth + 1
    elseif s == ")" then
      depth = depth - 1
      if depth == 0 then return k end
    end
  end
  error("unbalanced parentheses in: " .. M.text(tokens), 0)
end
M.matching = matching

local function trim(tokens)
  local a, b = 1, #tokens
  while a <= b and not significant(tokens[a]) do a = a + 1 end
  while b >= a and not significant(tokens[b]) do b = b - 1 end
  local out = {}
  for k = a, b do out[#out + 1] = tokens[k] end
  return out
end
M.trim = trim

-- Splits tokens[i..j] at commas outside parentheses; each part trimmed of spaces and comments at its ends.
local function split_commas(tokens, i, j)
  local parts, cur, depth = {}, {}, 0
  for k = i, j do
    local tok = tokens[k]
    local s = tok.t == "op" and tok.s
    if s == "(" then depth = depth + 1 elseif s == ")" then depth = depth - 1 end
    if s == "," and depth == 0 then
      parts[#parts + 1] = trim(cur)
      cur = {}
    else
      cur[#cur + 1] = tok
    end
  end
  parts[#parts + 1] = trim(cur)
  return parts
end

local table_constraint_words = { CONSTRAINT = true, PRIMARY = true, UNIQUE = true, CHECK = true, FOREIGN = true }
local column_constraint_words = { CONSTRAINT = true, PRIMARY = true, NOT = true, NULL = true, UNIQUE = true,
  CHECK = true, DEFAULT = true, COLLATE = true, REFERENCES = true, GENERATED = true, AS = true }

-- Parses a stored CREATE TABLE statement: { columns = { { name, type = tokens, constraints = tokens } },
-- constraints = { { name = <CONSTRAINT name or nil>, tokens } }, suffix = text after the definition list }.
function M.parse_table(sql)
  local tokens = M.tokenize(sql)
  local open
  for k, tok in ipairs(tokens) do
    if tok.t == "op" and tok.s == "(" then open = k; break end
    if kw(tok) == "AS" then error("not a table definition with columns: " .. sql, 0) end
  end
  if not open then error("no column definitions in: " .. sql, 0) end
  local close = matching(tokens, open)
  local info = { columns = {}, constraints = {}, suffix = M.text(tokens, close + 1) }
  for _, def in ipairs(split_commas(tokens, open + 1, close - 1)) do
    local first = def[1]
    if first and table_constraint_words[kw(first) or ""] then
      local name
      if kw(first) == "CONSTRAINT" then name = name_of(def[next_sig(def, 1)]) end
      info.constraints[#info.constraints + 1] = { name = name, tokens = def }
    elseif first then
      local name = name_of(first)
      if not name then error("cannot read a column definition: " .. M.text(def), 0) end
      local k, depth = 2, 0
      while k <= #def do
        local tok = def[k]
        if tok.t == "op" and tok.s == "(" then depth = depth + 1
        elseif tok.t == "op" and tok.s == ")" then depth = depth - 1
        elseif depth == 0 and column_constraint_words[kw(tok) or ""] then break end
        k = k + 1
      end
      local typ, cons = {}, {}
      for x = 2, k - 1 do typ[#typ + 1] = def[x] end
      for x = k, #def do cons[#cons + 1] = def[x] end
      info.columns[#info.columns + 1] = { name = name, type = trim(typ), constraints = trim(cons) }
    end
  end
  return info
end

-- Removes the tokens a..b from `tokens`, and with them a "CONSTRAINT name" just before a.
local function cut(tokens, a, b)
  local p = prev_sig(tokens, a)
  local pp = p and prev_sig(tokens, p)
  if pp and kw(tokens[pp]) == "CONSTRAINT" then a = pp end
  local out = {}
  for k = 1, a - 1 do out[#out + 1] = tokens[k] end
  for k = b + 1, #tokens do out[#out + 1] = tokens[k] end
  return out
end

-- Column constraints without the DEFAULT clause.
function M.remove_default(cons)
  local depth = 0
  for k, tok in ipairs(cons) do
    if tok.t == "op" and tok.s == "(" then depth = depth + 1
    elseif tok.t == "op" and tok.s == ")" then depth = depth - 1
    elseif depth == 0 and kw(tok) == "DEFAULT" then
      local v = next_sig(cons, k)
      if not v then return cut(cons, k, k) end
      local e = v
      if cons[v].t == "op" and cons[v].s == "(" then
        e = matching(cons, v)
      elseif cons[v].t == "op" and (cons[v].s == "-" or cons[v].s == "+") then
        e = next_sig(cons, v) or v
      end
      return M.remove_default(cut(cons, k, e))
    end
  end
  return cons
end

-- Column constraints without NOT NULL (and its ON CONFLICT clause).
function M.remove_not_null(cons)
  local depth = 0
  for k, tok in ipairs(cons) do
    if tok.t == "op" and tok.s == "(" then depth = depth + 1
    elseif tok.t == "op" and tok.s == ")" then depth = depth - 1
    elseif depth == 0 and kw(tok) == "NOT" then
      local n = next_sig(cons, k)
      if n and kw(cons[n]) == "NULL" then
        local e = n
        local on = next_sig(cons, n)
        if on and kw(cons[on]) == "ON" then
          local cf = next_sig(cons, on)
          if cf and kw(cons[cf]) == "CONFLICT" then e = next_sig(cons, cf) or cf end
        end
        return M.remove_not_null(cut(cons, k, e))
      end
    end
  end
  return cons
end

-- True when an identifier token in `sql` names `name` (quoted or bare, any case); literals and comments are not
-- looked at.
function M.mentions(sql, name)
  for _, tok in ipairs(M.tokenize(sql)) do
    if (tok.t == "ident" or (tok.t == "word" and not keywords[upper(tok.s)])) and same_name(name_of(tok), name) then
      return true
    end
  end
  return false
end

-- Tokens with the column names in `renamed` (old -> new) replaced by the new, quoted names, in the DDL of table
-- `tbl` (its CREATE TABLE constraints, an index, a trigger or a view). An identifier is renamed when it stands for
-- a column: not a keyword, not a function name (followed by "("), not a qualifier (followed by "."), not a
-- collation, not a column of another table named by REFERENCES, and when qualified, qualified by the table,
-- NEW or OLD. `quote` quotes a name.
function M.rename(tokens, renamed, tbl, quote)
  local lookup = {}
  for old, new in pairs(renamed) do lookup[upper(old)] = new end
  local out, foreign_until = {}, 0
  for k, tok in ipairs(tokens) do
    out[k] = tok
    local word = kw(tok)
    if word == "REFERENCES" then
      -- REFERENCES [schema.]table (columns): those columns belong to `table`.
      local a = next_sig(tokens, k)
      local target = a and name_of(tokens[a])
      local d = a and next_sig(tokens, a)
      if d and tokens[d].s == "." then
        a = next_sig(tokens, d)
        target = a and name_of(tokens[a])
        d = a and next_sig(tokens, a)
      end
      if d and tokens[d].t == "op" and tokens[d].s == "(" and not same_name(target, tbl) then
        foreign_until = matching(tokens, d)
      end
    end
    local is_ident = tok.t == "ident" or (tok.t == "word" and not keywords[word])
    local new = is_ident and k > foreign_until and lookup[upper(name_of(tok))]
    if new then
      local n, p = next_sig(tokens, k), prev_sig(tokens, k)
      local after, before = n and tokens[n], p and tokens[p]
      local skip = false
      if after and after.t == "op" and (after.s == "(" or after.s == ".") then skip = true end
      if before and kw(before) == "COLLATE" then skip = true end
      if before and before.t == "op" and before.s == "." then
        local qp = prev_sig(tokens, p)
        local qual = qp and name_of(tokens[qp])
        if not (same_name(qual, tbl) or same_name(qual, "NEW") or same_name(qual, "OLD")) then skip = true end
      end
      if not skip then out[k] = { t = "ident", s = quote(new), v = new } end
    end
  end
  return out
end

return M
