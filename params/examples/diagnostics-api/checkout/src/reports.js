// Diagnostics reports: parameterized queries only.
export async function reportsForDevice(db, deviceId, limit = 50) {
  const { rows } = await db.query(
    "SELECT id, device_id, firmware, created_at FROM diagnostics_reports WHERE device_id = $1 ORDER BY id DESC LIMIT $2",
    [deviceId, limit],
  );
  return rows;
}
