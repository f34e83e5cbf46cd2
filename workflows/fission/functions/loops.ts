// Shared by foreach, repeat and while: how many iterations a loop may run.
export const MAX_ITERATIONS = 10_000
