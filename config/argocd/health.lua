-- Argo CD health check for ServicePlan, ApiProduct and Tenant (tenancy.openplatform.io).
-- The three kinds follow kstatus: Ready is the summary, Reconciling=True while work is in
-- flight, Stalled=True for errors that need someone to change something.
local hs = { status = "Progressing", message = "Waiting for the tenant-operator to reconcile" }
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= nil and
   obj.status.observedGeneration < obj.metadata.generation then
  hs.message = "Waiting for the tenant-operator to observe generation " .. obj.metadata.generation
  return hs
end
local ready, stalled, reconciling
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then
    ready = c
  elseif c.type == "Stalled" then
    stalled = c
  elseif c.type == "Reconciling" then
    reconciling = c
  end
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.reason .. ": " .. stalled.message
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = reconciling.message
  return hs
end
if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = ready.reason .. ": " .. ready.message
  return hs
end
if ready ~= nil then
  hs.message = ready.message
end
return hs
