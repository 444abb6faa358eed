using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using Tremor.Actors;
using Tremor.Actors.Flows;

namespace Tremor.Cli.Hosting;

/// <summary>
/// What the run's host shares between its lifetime, its world service and the run command: the task the world completes
/// with the exit code, and the signal that started the stop, if one did.
/// </summary>
internal sealed class RunControl
{
    /// <summary>Completed by the world with the run's exit code.</summary>
    public TaskCompletionSource<int> Exit { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The first SIGINT / SIGTERM, once one came; the world's drain is reported as caused by it.</summary>
    public string? Signal { get; set; }
}

/// <summary>
/// The host's lifetime: SIGINT and SIGTERM stop the host (<see cref="IHostApplicationLifetime.StopApplication"/>),
/// whose stopping drains the flows (<see cref="WorldService"/>) for up to <c>tremor.data-path.drain-timeout</c>; a
/// second signal during that drain tells the world to stop at once; a third is not intercepted, so it ends the process
/// the way the signal says. Replaces the console lifetime, which would stop on the first signal after its own timeout.
/// </summary>
internal sealed class SignalLifetime(IHostApplicationLifetime lifetime, RunControl control, ActorRegistry registry) : IHostLifetime, IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private int _signals;

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        // Under one lock: the first signal's drain reaches the world (stopping callbacks run inside StopApplication)
        // before a second signal's stop can.
        lock (_gate)
        {
            if (++_signals > 2) return;
            context.Cancel = true;
            var name = context.Signal.ToString();
            if (_signals == 1)
            {
                control.Signal = name;
                lifetime.StopApplication();
            }
            else if (registry.TryGet<World>(out var world))
            {
                world.Tell(new World.SignalReceived(name));
            }
        }
    }
}

/// <summary>
/// Ties the world to the host: when the run ends by itself (every flow finished, a connector asked for shutdown) the
/// host stops; when the host stops first (a signal), the world drains before the actor system goes, and the host's stop
/// waits for it. Registered after Akka, so it stops before Akka does.
/// </summary>
internal sealed class WorldService(IHostApplicationLifetime lifetime, RunControl control, ActorRegistry registry) : IHostedService
{
    private CancellationTokenRegistration _stopping;
    private int _drainAsked;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = control.Exit.Task.ContinueWith(_ => lifetime.StopApplication(), TaskScheduler.Default);
        // Runs at once when the host was asked to stop while it started.
        _stopping = lifetime.ApplicationStopping.Register(AskToDrain);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        AskToDrain();
        await _stopping.DisposeAsync();
        try
        {
            // The world bounds the drain itself (drain-timeout, then its stop timeout); the host's shutdown timeout is longer.
            await control.Exit.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            control.Exit.TrySetResult(RunSummary.Lost);
        }
    }

    private void AskToDrain()
    {
        // Not yet when the world does not exist (a signal while the host starts): the stop asks again.
        if (control.Exit.Task.IsCompleted || !registry.TryGet<World>(out var world) || Interlocked.Exchange(ref _drainAsked, 1) == 1) return;
        world.Tell(control.Signal is { } signal ? new World.SignalReceived(signal) : new World.ShutdownRequested(0, "the host is stopping"));
    }
}
