-- Hooks shared by every environment (see luamig.lua: hooks = "hooks/shared.lua").
-- Hooks files run in the same sandbox as migrations: op, context, log and require are available.

function before_run(ctx)
  if #ctx.steps == 0 then return end
  local first, last = ctx.steps[1].revision, ctx.steps[#ctx.steps].revision
  log.info(string.format("%s on %s: %d step%s, %s .. %s", ctx.command, ctx.environment, #ctx.steps,
    #ctx.steps == 1 and "" or "s", first, last))
end

function on_error(step, err, ctx)
  log.error(string.format("%s of %s failed%s: %s", step.direction, step.revision,
    err.hook and (" in hook " .. err.hook) or "", err.message))
end
