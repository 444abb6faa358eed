using Tremor.Pdk;
using Tremor.Script.Runtime;

namespace Tremor.Script.Functions;

internal delegate Value Fn(ReadOnlySpan<Value> args);

/// <summary>A standard function that reads the event's context (its ingest time, metadata, window): random, origin, win.</summary>
internal delegate Value ContextFn(Context c, ReadOnlySpan<Value> args);

/// <summary>A standard function: its module-qualified name, arity range and implementation.</summary>
internal sealed record FunctionDef(string Name, int MinArgs, int MaxArgs, Fn Fn, bool Pure = true)
{
    /// <summary>Set for functions of the event's context; they are never folded at compile time.</summary>
    public ContextFn? WithContext { get; init; }
}

/// <summary>The standard library by module-qualified name (<c>string::len</c>); <c>std::x::f</c> resolves to <c>x::f</c>.</summary>
internal static partial class FunctionRegistry
{
    private static readonly Dictionary<string, FunctionDef> Functions = new(StringComparer.Ordinal);

    static FunctionRegistry()
    {
        RegisterString();
        RegisterMath();
        RegisterArray();
        RegisterRecord();
        RegisterType();
        RegisterOther();
        RegisterMore();
        RegisterDateTime();
        RegisterContext();
        RegisterBinary();
    }

    public static IEnumerable<string> Names => Functions.Keys.Concat(Aggregates.AggregateRegistry.Names);

    public static FunctionDef? Find(string name)
    {
        if (name.StartsWith("std::", StringComparison.Ordinal)) name = name[5..];
        return Functions.GetValueOrDefault(name);
    }

    private static void Add(string name, int min, int max, Fn fn, bool pure = true) => Functions[name] = new FunctionDef(name, min, max, fn, pure);

    private static void Add(string name, int arity, Fn fn) => Add(name, arity, arity, fn);

    private static void AddContext(string name, int min, int max, ContextFn fn) =>
        Functions[name] = new FunctionDef(name, min, max, _ => throw new FunctionError($"{name} needs an event"), Pure: false) { WithContext = fn };

    internal static string Str(ReadOnlySpan<Value> a, int i, string fn) =>
        a[i].AsString() ?? throw new FunctionError($"{fn}: argument {i + 1} must be a string, got {Runtime.ValueOps.TypeName(a[i])}");

    internal static long Int(ReadOnlySpan<Value> a, int i, string fn) =>
        a[i].TryGetI64(out var v) ? v : throw new FunctionError($"{fn}: argument {i + 1} must be an integer, got {Runtime.ValueOps.TypeName(a[i])}");

    internal static double Num(ReadOnlySpan<Value> a, int i, string fn) =>
        a[i].TryGetF64(out var v) ? v : throw new FunctionError($"{fn}: argument {i + 1} must be a number, got {Runtime.ValueOps.TypeName(a[i])}");

    internal static List<Value> Arr(ReadOnlySpan<Value> a, int i, string fn) =>
        a[i].AsArray() ?? throw new FunctionError($"{fn}: argument {i + 1} must be an array, got {Runtime.ValueOps.TypeName(a[i])}");

    internal static ValueRecord Rec(ReadOnlySpan<Value> a, int i, string fn) =>
        a[i].AsRecord() ?? throw new FunctionError($"{fn}: argument {i + 1} must be a record, got {Runtime.ValueOps.TypeName(a[i])}");
}
