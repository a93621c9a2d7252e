// Helpers shared by every kernel; a shader pulls them in with #include "common".

// Returns the linear workgroup index of a grid that the host split over x and y with grid2D():
// x + y * num_workgroups.x. Threads of workgroups past the real count must return early.
fn workgroup_index(workgroup_id: vec3<u32>, num_workgroups: vec3<u32>) -> u32 {
  return workgroup_id.x + workgroup_id.y * num_workgroups.x;
}

// Returns the logistic sigmoid of x, written so that exp never overflows for large |x|.
fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}
