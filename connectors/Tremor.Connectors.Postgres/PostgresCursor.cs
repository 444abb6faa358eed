using Npgsql;
using NpgsqlTypes;
using Tremor.Pdk;

namespace Tremor.Connectors.Postgres;

/// <summary>
/// The source's cursor: the value of the cursor column the next poll starts after (<c>$1</c>). Rows are handed out in
/// the query's order; the committed value moves over a row only once it and every row before it were acked, so a
/// restart of the flow or a failed row never skips a row that was not delivered. A failed row makes the next poll read
/// again after the committed value (rows acked after it are read again: duplicates, not losses). The committed value
/// is saved as text (<see cref="Saved"/>) for the next run, which starts after it (<see cref="Restore"/>).
/// </summary>
internal sealed class PostgresCursor(Value start)
{
    private readonly Lock _lock = new();
    private readonly LinkedList<(ulong PullId, object Cursor, bool Acked)> _pending = new();
    private readonly Dictionary<ulong, LinkedListNode<(ulong PullId, object Cursor, bool Acked)>> _byPull = [];
    private object? _committed;
    private object? _read;
    private object? _lastSaved;

    /// <summary>The last value every row up to which was acked (<c>start</c> before any).</summary>
    public Value CommittedValue
    {
        get
        {
            lock (_lock)
            {
                return _committed switch
                {
                    null => start,
                    UntypedLiteral literal => literal.Text,
                    var value => PostgresValues.FromColumn(value, ""),
                };
            }
        }
    }

    /// <summary>
    /// The committed value as text for the next run (numbers invariant, timestamps round-trip ISO 8601), or null while
    /// nothing was acked; <paramref name="changed"/> says whether it moved since the last call.
    /// </summary>
    public string? Saved(out bool changed)
    {
        lock (_lock)
        {
            changed = !Equals(_committed, _lastSaved);
            _lastSaved = _committed;
            return _committed switch
            {
                null => null,
                DateTime t => t.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                DateTimeOffset t => t.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                UntypedLiteral literal => literal.Text,
                var other => Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture),
            };
        }
    }

    /// <summary>Starts after a value a previous run committed (sent untyped: the server gives it the column's type).</summary>
    public void Restore(string text)
    {
        lock (_lock)
        {
            _committed = _read = _lastSaved = new UntypedLiteral(text);
        }
    }

    /// <summary>How many rows were handed out and not settled yet.</summary>
    public int Pending
    {
        get
        {
            lock (_lock) return _pending.Count;
        }
    }

    /// <summary><c>$1</c> for the next poll: after the last row read (the last one committed after a fail).</summary>
    public NpgsqlParameter ReadParameter()
    {
        lock (_lock)
        {
            if (_read is UntypedLiteral literal) return new NpgsqlParameter { Value = literal.Text, NpgsqlDbType = NpgsqlDbType.Unknown };
            if (_read is { } read) return new NpgsqlParameter { Value = read };
        }
        // A string start (a timestamp, a text key) goes as an untyped literal: the server gives it the column's type.
        return start.AsString() is { } text
            ? new NpgsqlParameter { Value = text, NpgsqlDbType = NpgsqlDbType.Unknown }
            : new NpgsqlParameter { Value = start.RawI64 };
    }

    /// <summary>A poll read a row with this cursor value.</summary>
    public void Read(object cursor)
    {
        lock (_lock) _read = cursor;
    }

    /// <summary>The row with this cursor value went out with <paramref name="pullId"/>.</summary>
    public void HandedOut(ulong pullId, object cursor)
    {
        lock (_lock) _byPull[pullId] = _pending.AddLast((pullId, cursor, false));
    }

    public void Ack(ulong pullId)
    {
        lock (_lock)
        {
            if (!_byPull.Remove(pullId, out var node)) return;
            node.Value = node.Value with { Acked = true };
            while (_pending.First is { Value.Acked: true } first)
            {
                _committed = first.Value.Cursor;
                _pending.RemoveFirst();
            }
        }
    }

    /// <summary>A row failed: every row not acked is forgotten and the next poll reads after the committed value.</summary>
    public bool Fail(ulong pullId)
    {
        lock (_lock)
        {
            if (!_byPull.ContainsKey(pullId)) return false;
            _pending.Clear();
            _byPull.Clear();
            _read = _committed;
            return true;
        }
    }

    /// <summary>A value restored from text, its type left to the server.</summary>
    private sealed record UntypedLiteral(string Text);
}
