// Every test spawns the CLI or shares the 2-core build machine with it: one at a time keeps timings honest.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
