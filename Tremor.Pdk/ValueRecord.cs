using System.Collections;

namespace Tremor.Pdk;

/// <summary>
/// An insertion-ordered record of string keys to <see cref="Value"/>s. Small records (the common case)
/// are searched linearly over parallel arrays; a hash index is built once a record grows past a few fields.
/// </summary>
public sealed class ValueRecord : IEnumerable<KeyValuePair<string, Value>>
{
    private const int IndexThreshold = 12;
    private string[] _keys;
    private Value[] _values;
    private int _count;
    private Dictionary<string, int>? _index;

    // The keys array may be shared with other records of the same shape (decoders hand out one per shape); every
    // write to it goes through OwnKeys first.
    private bool _sharedKeys;

    /// <summary>An empty record with room for <paramref name="capacity"/> fields.</summary>
    public ValueRecord(int capacity = 4)
    {
        capacity = Math.Max(capacity, 1);
        _keys = new string[capacity];
        _values = new Value[capacity];
    }

    /// <summary>
    /// A record that adopts <paramref name="keys"/> and <paramref name="values"/> (same length) without copying; with
    /// <paramref name="sharedKeys"/> the keys array is treated as read-only (it is copied before any change), so a
    /// decoder can share one keys array between all records of one shape. The keys must be distinct: that is not
    /// checked, as a decoder builds many records of a shape it checked once.
    /// </summary>
    /// <exception cref="ArgumentException">The arrays differ in length or are empty.</exception>
    public ValueRecord(string[] keys, Value[] values, bool sharedKeys)
    {
        if (keys.Length != values.Length || keys.Length == 0) throw new ArgumentException("keys and values must have the same, non-zero length");
        _keys = keys;
        _values = values;
        _count = values.Length;
        _sharedKeys = sharedKeys;
    }

    /// <summary>The number of fields.</summary>
    public int Count => _count;

    /// <summary>Gets or sets a field; setting an absent key appends it.</summary>
    public Value this[string key]
    {
        get => TryGetValue(key, out var value) ? value : default;
        set => Set(key, value);
    }

    /// <summary>The keys in insertion order, for encoders that walk every field (no copy, no per-field checks).</summary>
    public ReadOnlySpan<string> KeySpan => _keys.AsSpan(0, _count);

    /// <summary>
    /// The keys array when it is shared with other records of the same shape (it then never changes, so encoders may
    /// cache what they derive from it by reference).
    /// </summary>
    public string[]? SharedKeys => _sharedKeys ? _keys : null;

    /// <summary>The values in insertion order, beside <see cref="KeySpan"/>.</summary>
    public ReadOnlySpan<Value> ValueSpan => _values.AsSpan(0, _count);

    /// <summary>The key at a position (insertion order).</summary>
    public string KeyAt(int index) => (uint)index < (uint)_count ? _keys[index] : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>The value at a position (insertion order).</summary>
    public Value ValueAt(int index) => (uint)index < (uint)_count ? _values[index] : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>Looks a field up by key.</summary>
    public bool TryGetValue(string key, out Value value)
    {
        var i = IndexOf(key);
        if (i >= 0)
        {
            value = _values[i];
            return true;
        }
        value = default;
        return false;
    }

    /// <summary>True when the key is present.</summary>
    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    /// <summary>Sets a field, replacing its value in place or appending it.</summary>
    public void Set(string key, Value value)
    {
        var i = IndexOf(key);
        if (i >= 0)
        {
            _values[i] = value;
            return;
        }
        Append(key, value);
    }

    /// <summary>Appends a field without looking for an existing one (decoders that know keys are unique use this).</summary>
    public void Append(string key, Value value)
    {
        if (_count == _keys.Length)
        {
            Array.Resize(ref _keys, _count * 2);
            Array.Resize(ref _values, _count * 2);
            _sharedKeys = false;
        }
        OwnKeys();
        _keys[_count] = key;
        _values[_count] = value;
        _index?.TryAdd(key, _count);
        _count++;
    }

    /// <summary>Removes a field; returns whether it was there.</summary>
    public bool Remove(string key)
    {
        var i = IndexOf(key);
        if (i < 0) return false;
        OwnKeys();
        Array.Copy(_keys, i + 1, _keys, i, _count - i - 1);
        Array.Copy(_values, i + 1, _values, i, _count - i - 1);
        _count--;
        _keys[_count] = null!;
        _values[_count] = default;
        if (_index is not null)
        {
            _index.Clear();
            for (var k = 0; k < _count; k++) _index.TryAdd(_keys[k], k);
        }
        return true;
    }

    private void OwnKeys()
    {
        if (!_sharedKeys) return;
        _keys = (string[])_keys.Clone();
        _sharedKeys = false;
    }

    private int IndexOf(string key)
    {
        if (_index is null && _count > IndexThreshold)
        {
            // Built on the first lookup, not while decoding: most decoded records are never searched by key.
            _index = new Dictionary<string, int>(_count * 2, StringComparer.Ordinal);
            for (var k = 0; k < _count; k++) _index.TryAdd(_keys[k], k);
        }
        if (_index is not null) return _index.TryGetValue(key, out var i) ? i : -1;
        for (var k = 0; k < _count; k++)
        {
            if (string.Equals(_keys[k], key, StringComparison.Ordinal)) return k;
        }
        return -1;
    }

    /// <summary>Same keys with equal values, in any order.</summary>
    public bool ContentEquals(ValueRecord other)
    {
        if (ReferenceEquals(this, other)) return true;
        if (_count != other._count) return false;
        for (var k = 0; k < _count; k++)
        {
            if (!other.TryGetValue(_keys[k], out var v) || !_values[k].Equals(v)) return false;
        }
        return true;
    }

    /// <summary>Fields in insertion order.</summary>
    public Enumerator GetEnumerator() => new(this);

    IEnumerator<KeyValuePair<string, Value>> IEnumerable<KeyValuePair<string, Value>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>An allocation-free enumerator over the fields.</summary>
    public struct Enumerator : IEnumerator<KeyValuePair<string, Value>>
    {
        private readonly ValueRecord _record;
        private int _position;

        internal Enumerator(ValueRecord record)
        {
            _record = record;
            _position = -1;
        }

        /// <inheritdoc />
        public readonly KeyValuePair<string, Value> Current => new(_record._keys[_position], _record._values[_position]);

        readonly object IEnumerator.Current => Current;

        /// <inheritdoc />
        public bool MoveNext() => ++_position < _record._count;

        /// <inheritdoc />
        public void Reset() => _position = -1;

        /// <inheritdoc />
        public readonly void Dispose()
        {
        }
    }
}
