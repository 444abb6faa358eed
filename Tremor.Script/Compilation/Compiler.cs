using System.Text;
using Tremor.Pdk;
using Tremor.Script.Aggregates;
using Tremor.Script.Functions;
using Tremor.Script.Runtime;
using Tremor.Script.Syntax;

namespace Tremor.Script.Compilation;

/// <summary>Tests a value against a pattern; when <c>need</c>, also yields what the pattern binds (Tremor's pattern result).</summary>
internal delegate bool Matcher(Context c, Value v, bool need, out Value result);

/// <summary>
/// Compiles expressions ahead of time into closures over a <see cref="Context"/>: each node of the tree becomes
/// one delegate, so per event there is no dispatch on syntax and no allocation beyond produced values.
/// </summary>
internal sealed class Compiler(Source source, Scope scope, Definitions? definitions = null, string modulePrefix = "")
{
    /// <summary>Deep enough for honest recursion, far from the thread's stack limit; tail calls use <c>recur</c>.</summary>
    public const int MaxCallDepth = 512;

    private readonly Definitions _definitions = definitions ?? new Definitions(null, null);

    // A definition from a module file compiles inside that module: its own names resolve there first.
    private readonly string _prefix = modulePrefix.Length > 0 ? modulePrefix : definitions?.Prefix ?? "";

    [ThreadStatic]
    private static StringBuilder? _builder;

    public Scope Scope { get; } = scope;

    /// <summary>
    /// Compiles an expression; one built only of literals, constants and pure standard functions is evaluated here,
    /// once, as Tremor's constant folder does: its value is shared, and its error is a compile error at its position.
    /// </summary>
    public Eval Compile(Expr e)
    {
        // Whether this expression is the last thing its function does; what it contains is not, unless it says so.
        _nodeInTail = _inTail;
        _inTail = false;
        var eval = CompileNode(e);
        return e is LiteralExpr || !IsConstant(e) ? eval : Fold(e, eval);
    }

    // Tremor's `recur` must be the last thing a function does: the last statement of its body, or of a case of a
    // `match` that is. `_inTail` is set for the expression about to be compiled, `_nodeInTail` while it compiles.
    private bool _inTail;
    private bool _nodeInTail;

    private Eval CompileNode(Expr e) => e switch
    {
        LiteralExpr l => Const(l.Value),
        InterpolatedExpr s => Interpolated(s),
        ArrayExpr a => Array(a),
        RecordExpr r => Record(r),
        PathExpr p => Path(p, lenientMissing: false),
        UnaryExpr u => Unary(u),
        BinaryExpr b => Binary(b),
        CallExpr call => Call(call),
        LetExpr let => Let(let),
        PresentExpr p => Present(p),
        MatchExpr m => Match(m),
        PatchExpr p => Patch(p),
        MergeExpr m => Merge(m),
        ForExpr f => For(f),
        EmitExpr em => Emit(em),
        DropExpr d => Drop(d),
        RecurExpr r => Recur(r),
        BytesExpr b => Bytes(b),
        DefinitionExpr d => throw source.Error(d.Pos, "a definition (fn, const, mod, use) belongs among a script's statements, not inside an expression"),
        _ => throw source.Error(e.Pos, $"unsupported expression {e.GetType().Name}"),
    };

    /// <summary>Statements in order; stops at emit or drop. A body ending in `let` yields the event.</summary>
    public Eval Block(List<Expr> body, bool yieldsEventAfterLet, bool tail = false)
    {
        // Definitions take effect for the whole block: a function may be used above the line that defines it.
        var defs = body.OfType<DefinitionExpr>().Select(d => d.Definition).ToList();
        if (defs.Count > 0) _definitions.Register(source, defs, _prefix);
        // A body that ends with a constant's definition yields that constant, as in Tremor (`const x = 1` gives 1).
        var lastConst = body.Count > 0 && body[^1] is DefinitionExpr { Definition: ConstStmt c } ? c : null;
        body = body.Where(e => e is not DefinitionExpr).ToList();
        if (lastConst is not null) body.Add(new PathExpr(lastConst.Pos, PathRoot.Local, lastConst.Name, null, []));
        var stmts = body.Select((e, i) =>
        {
            _inTail = tail && i == body.Count - 1;
            return Compile(e);
        }).ToList();
        if (yieldsEventAfterLet && (body.Count == 0 || body[^1] is LetExpr)) stmts.Add(c => c.Event);
        if (stmts.Count == 1) return stmts[0];
        var array = stmts.ToArray();
        return c =>
        {
            Value v = default;
            for (var i = 0; i < array.Length; i++)
            {
                v = array[i](c);
                if (c.Flow != Flow.Continue) return v;
            }
            return v;
        };
    }

    /// <summary>Evaluates an expression that must not depend on an event (definition parameters).</summary>
    public static Value EvaluateConstant(Source source, Expr e, Definitions? definitions = null, string modulePrefix = "")
    {
        var scope = new Scope(ScopeKind.Constant);
        var eval = new Compiler(source, scope, definitions, modulePrefix).Compile(e);
        var c = new Context(scope.LocalCount, scope.ScratchCount) { Args = definitions?.Args ?? default };
        try
        {
            return eval(c);
        }
        catch (RuntimeError err)
        {
            throw source.Error(err.Pos, err.Message);
        }
    }

    private static Eval Const(Value v) => _ => v;

    /// <summary>Whether the value cannot depend on an event, its metadata, state, locals, args, group or window.</summary>
    private bool IsConstant(Expr e) => e switch
    {
        LiteralExpr => true,
        InterpolatedExpr s => s.Parts.All(p => p is not Expr x || IsConstant(x)),
        ArrayExpr a => a.Items.All(IsConstant),
        RecordExpr r => r.Fields.All(f => IsConstant(f.Key) && IsConstant(f.Value)),
        UnaryExpr u => IsConstant(u.Operand),
        BinaryExpr b => IsConstant(b.Left) && IsConstant(b.Right),
        CallExpr call => _definitions.FindFunction(call.Name, _prefix) is null
            && FunctionRegistry.Find(call.Name) is { Pure: true, WithContext: null } && call.Args.All(IsConstant),
        PathExpr p => p.Root switch
        {
            PathRoot.Expr => IsConstant(p.Base!),
            PathRoot.Local => Scope.Lookup(p.Name!) is null
                && (_definitions.FindConstant(p.Name!, _prefix).Found || FunctionRegistry.FindConstant(p.Name!) is not null),
            _ => false,
        } && p.Segments.All(s => s switch
        {
            IndexSegment i => IsConstant(i.Index),
            RangeSegment r => IsConstant(r.From) && IsConstant(r.To),
            _ => true,
        }),
        _ => false,
    };

    private Eval Fold(Expr e, Eval eval)
    {
        Value value;
        try
        {
            value = eval(new Context(Scope.LocalCount, Scope.ScratchCount) { Args = _definitions.Args });
        }
        catch (RuntimeError err)
        {
            // Operands were folded first, so a unary operation fails on its own: Tremor's folder points at the operator.
            throw source.Error(e is UnaryExpr ? e.Pos : err.Pos, err.Message);
        }
        catch (FunctionError err)
        {
            throw source.Error(e.Pos, err.Message);
        }
        // Shared between events: copy-on-write guarantees nobody writes into it.
        return Const(value);
    }

    private Eval Interpolated(InterpolatedExpr s)
    {
        var parts = s.Parts.Select(p => p is Expr e ? (object)Compile(e) : p).ToArray();
        return c =>
        {
            // Rented, not shared: an interpolation may nest inside another.
            var sb = _builder ?? new StringBuilder();
            _builder = null;
            sb.Clear();
            foreach (var p in parts)
            {
                if (p is string text) sb.Append(text);
                else sb.Append(ValueOps.Display(((Eval)p)(c)));
            }
            var result = sb.ToString();
            _builder = sb;
            return Value.From(result);
        };
    }

    private Eval Array(ArrayExpr a)
    {
        var items = a.Items.Select(Compile).ToArray();
        if (a.Items.All(i => i is LiteralExpr))
        {
            // Shared between events: copy-on-write guarantees nobody writes into it.
            var constant = Value.From(a.Items.Select(i => ((LiteralExpr)i).Value).ToList());
            return _ => constant;
        }
        return c =>
        {
            var list = new List<Value>(items.Length);
            foreach (var item in items) list.Add(item(c));
            return Value.From(list);
        };
    }

    private Eval Record(RecordExpr r)
    {
        var keys = r.Fields.Select(f => f.Key is LiteralExpr { Value.Kind: ValueKind.String } l ? l.Value.AsString() : null).ToArray();
        var keyEvals = r.Fields.Select(f => Compile(f.Key)).ToArray();
        var values = r.Fields.Select(f => Compile(f.Value)).ToArray();
        var positions = r.Fields.Select(f => f.Key.Pos).ToArray();
        var unique = keys.All(k => k is not null) && keys.Distinct(StringComparer.Ordinal).Count() == keys.Length;
        if (unique)
        {
            var fixedKeys = keys.Select(k => k!).ToArray();
            return c =>
            {
                var record = new ValueRecord(values.Length);
                for (var i = 0; i < values.Length; i++) record.Append(fixedKeys[i], values[i](c));
                return Value.From(record);
            };
        }
        return c =>
        {
            var record = new ValueRecord(values.Length);
            for (var i = 0; i < values.Length; i++)
            {
                var key = keyEvals[i](c);
                record.Set(key.AsString() ?? throw new RuntimeError(positions[i], $"record keys must be strings, got {ValueOps.TypeName(key)}"), values[i](c));
            }
            return Value.From(record);
        };
    }

    // ---- paths ----

    private Eval Root(PathExpr p)
    {
        switch (p.Root)
        {
            case PathRoot.Event: return c => c.Event;
            case PathRoot.Meta: return c => c.Meta;
            case PathRoot.State: return c => c.State;
            case PathRoot.Group: return c => c.Group;
            case PathRoot.Window: return c => c.Window;
            case PathRoot.Args:
                if (Scope.Function is { VarArgsSlot: >= 0 } open)
                {
                    var argsSlot = open.VarArgsSlot;
                    return c => c.Locals[argsSlot];
                }
                return c => c.Args;
            case PathRoot.Expr: return Compile(p.Base!);
            default:
                {
                    if (Scope.Lookup(p.Name!) is { } slot) return c => c.Locals[slot];
                    var (found, constant) = _definitions.FindConstant(p.Name!, _prefix);
                    if (found) return _ => constant;
                    if (FunctionRegistry.FindConstant(p.Name!) is { } standard) return _ => standard;
                    if (p.Name!.Contains("::", StringComparison.Ordinal))
                        throw source.Error(p.Pos, $"unknown constant `{p.Name}`", "define it in the module: const NAME = ...; or call a function with parentheses: m::f(x)");
                    throw source.Error(p.Pos, $"unknown local `{p.Name}`", LocalHint(p.Name!));
                }
        }
    }

    private string LocalHint(string name)
    {
        var nearest = Source.Nearest(name, Scope.LocalNames.Concat(["event", "state", "group", "window", "args"]));
        return nearest is not null ? $"did you mean `{nearest}`?" : $"assign it first with `let {name} = ...;`, or use `event.{name}` for a field of the event";
    }

    private static string RootText(PathExpr p) => p.Root switch
    {
        PathRoot.Event => "event",
        PathRoot.Meta => "$",
        PathRoot.State => "state",
        PathRoot.Group => "group",
        PathRoot.Window => "window",
        PathRoot.Args => "args",
        PathRoot.Local => p.Name!,
        _ => "(expression)",
    };

    private static string[] Prefixes(PathExpr p)
    {
        var prefixes = new string[p.Segments.Count];
        var sb = new StringBuilder(RootText(p));
        for (var i = 0; i < p.Segments.Count; i++)
        {
            prefixes[i] = sb.ToString();
            switch (p.Segments[i])
            {
                case FieldSegment f:
                    if (p.Root == PathRoot.Meta && i == 0) sb.Append(f.Name);
                    else sb.Append('.').Append(f.Name);
                    break;
                default: sb.Append("[...]"); break;
            }
        }
        return prefixes;
    }

    private Eval Path(PathExpr p, bool lenientMissing)
    {
        var root = Root(p);
        if (p.Segments.Count == 0) return root;
        // Metadata is optional by nature: a missing $key reads as null.
        var lenient = lenientMissing || p.Root == PathRoot.Meta;
        var prefixes = Prefixes(p);
        if (p.Segments.All(s => s is FieldSegment))
        {
            var fields = p.Segments.Select(s => new FieldLookup(((FieldSegment)s).Name)).ToArray();
            var pos = p.Segments.Select(s => s.Pos).ToArray();
            if (fields.Length == 1)
            {
                var f0 = fields[0];
                // `event.x`: the event is read straight from the context, not through the root's delegate.
                if (p.Root == PathRoot.Event)
                {
                    return c => f0.TryGet(c.Event, out var x) ? x : MissingField(c.Event, f0.Name, prefixes[0], pos[0], lenient);
                }
                return c =>
                {
                    var v = root(c);
                    return f0.TryGet(v, out var x) ? x : MissingField(v, f0.Name, prefixes[0], pos[0], lenient);
                };
            }
            return c =>
            {
                var v = root(c);
                for (var i = 0; i < fields.Length; i++)
                {
                    if (fields[i].TryGet(v, out var x)) v = x;
                    else return MissingField(v, fields[i].Name, prefixes[i], pos[i], lenient);
                }
                return v;
            };
        }
        var segs = p.Segments.Select(CompileSegment).ToArray();
        return c =>
        {
            var v = root(c);
            for (var i = 0; i < segs.Length; i++)
            {
                if (!Step(c, ref v, segs[i], prefixes[i], out var error))
                {
                    if (lenient) return Value.Null;
                    throw error!;
                }
            }
            return v;
        };
    }

    private static Value MissingField(Value v, string name, string prefix, int pos, bool lenient)
    {
        if (lenient) return Value.Null;
        if (v.Kind == ValueKind.Record) throw new RuntimeError(pos, BadKey(name, prefix));
        throw new RuntimeError(pos, $"cannot read field `{name}` of `{prefix}`: it is {ValueOps.TypeName(v)}, not a record");
    }

    private sealed record CompiledSegment(int Pos, string? Field, Eval? Index, Eval? To, int ToPos = 0)
    {
        public FieldLookup? Lookup { get; } = Field is null ? null : new FieldLookup(Field);
    }

    // Tremor's wording for a missing key, naming where it was looked for.
    private static string BadKey(string key, string prefix)
    {
        var root = prefix.Split('.', '[')[0] switch
        {
            "event" => "event",
            "state" => "state",
            "$" or "group" or "window" or "args" => "global",
            _ => "local",
        };
        return $"Trying to access a non existing {root} key `{key}` (in `{prefix}`)";
    }

    private static string OutOfBounds(long index, int length, string prefix) =>
        $"Array index out of bounds, got index {index} but expected an index in the range 0:{length} (in `{prefix}`)";

    private CompiledSegment CompileSegment(Segment s) => s switch
    {
        FieldSegment f => new CompiledSegment(f.Pos, f.Name, null, null),
        IndexSegment i => new CompiledSegment(i.Pos, null, Compile(i.Index), null),
        RangeSegment r => new CompiledSegment(r.Pos, null, Compile(r.From), Compile(r.To), r.To.Pos),
        _ => throw source.Error(s.Pos, "unsupported path segment"),
    };

    private static bool Step(Context c, ref Value v, CompiledSegment seg, string prefix, out RuntimeError? error)
    {
        error = null;
        if (seg.Lookup is { } lookup)
        {
            var field = lookup.Name;
            if (lookup.TryGet(v, out var x))
            {
                v = x;
                return true;
            }
            error = v.Kind == ValueKind.Record
                ? new RuntimeError(seg.Pos, BadKey(field, prefix))
                : new RuntimeError(seg.Pos, $"cannot read field `{field}` of `{prefix}`: it is {ValueOps.TypeName(v)}, not a record");
            return false;
        }
        var index = seg.Index!(c);
        if (seg.To is { } toEval)
        {
            var to = toEval(c);
            // An end that is not an integer is the end's error, as Tremor reports it; the rest, the range's.
            if (index.TryGetI64(out _) && !to.TryGetI64(out _))
            {
                error = new RuntimeError(seg.ToPos, $"the end of a range must be an integer, got {ValueOps.TypeName(to)} {ValueOps.Short(to)} (in `{prefix}`)");
                return false;
            }
            if (v.AsArray() is not { } arr || !index.TryGetI64(out var a) || !to.TryGetI64(out var b) || a < 0 || b < a || b > arr.Count)
            {
                error = new RuntimeError(seg.Pos, $"range [{index}:{to}] is not valid for `{prefix}` ({ValueOps.TypeName(v)})");
                return false;
            }
            v = Value.From(arr.GetRange((int)a, (int)(b - a)));
            return true;
        }
        if (index.AsString() is { } key)
        {
            if (v.AsRecord() is { } r && r.TryGetValue(key, out var x))
            {
                v = x;
                return true;
            }
            error = new RuntimeError(seg.Pos, v.Kind == ValueKind.Record ? BadKey(key, prefix) : $"cannot read key `{key}` of `{prefix}`: it is {ValueOps.TypeName(v)}, not a record");
            return false;
        }
        if (index.TryGetI64(out var idx))
        {
            if (v.AsArray() is { } arr && idx >= 0 && idx < arr.Count)
            {
                v = arr[(int)idx];
                return true;
            }
            error = new RuntimeError(seg.Pos, v.Kind == ValueKind.Array
                ? OutOfBounds(idx, v.AsArray()!.Count, prefix)
                : $"cannot index `{prefix}` with {idx}: it is {ValueOps.TypeName(v)}, not an array");
            return false;
        }
        error = new RuntimeError(seg.Pos, $"an index must be an integer or a string, got {ValueOps.TypeName(index)}");
        return false;
    }

    private Eval Present(PresentExpr p)
    {
        var root = Root(p.Path);
        var segs = p.Path.Segments;
        if (segs.Count == 0) return p.Negate ? c => Value.From(root(c).IsNull) : c => Value.From(!root(c).IsNull);
        var compiled = segs.Select(CompileSegment).ToArray();
        var negate = p.Negate;
        return c =>
        {
            var v = root(c);
            foreach (var s in compiled)
            {
                // A missing field is the common answer here: no error is made for it.
                if (s.Lookup is { } field)
                {
                    if (!field.TryGet(v, out v)) return Value.From(negate);
                }
                else if (!Step(c, ref v, s, "", out _)) return Value.From(negate);
            }
            return Value.From(!negate);
        };
    }

    // ---- operators ----

    private Eval Unary(UnaryExpr u)
    {
        var operand = Compile(u.Operand);
        // Tremor reports a bad operand at the operand.
        var pos = u.Operand.Pos;
        return u.Op switch
        {
            "not" => c => Value.From(!ValueOps.Bool(operand(c), pos, "the operand of `not`")),
            "!" => c =>
            {
                var v = operand(c);
                if (v.Kind == ValueKind.Bool) return Value.From(!v.AsBool());
                return v.Kind == ValueKind.I64 ? Value.From(~v.RawI64) : throw new RuntimeError(pos, $"the operand of `!` must be an integer or a bool, got {ValueOps.TypeName(v)}");
            }
            ,
            "-" => c => ValueOps.Negate(operand(c), pos),
            _ => c =>
            {
                var v = operand(c);
                return v.IsNumber ? v : throw new RuntimeError(pos, $"unary `+` needs a number, got {ValueOps.TypeName(v)}");
            }
            ,
        };
    }

    private Eval Binary(BinaryExpr b)
    {
        var l = Compile(b.Left);
        var r = Compile(b.Right);
        var pos = b.Pos;
        // A right side that is not a bool is reported at that side, as Tremor does.
        var rightPos = b.Right.Pos;
        switch (b.Op)
        {
            case "and": return c => Value.From(ValueOps.Bool(l(c), pos, "the left side of `and`") && ValueOps.Bool(r(c), rightPos, "the right side of `and`"));
            case "or": return c => Value.From(ValueOps.Bool(l(c), pos, "the left side of `or`") || ValueOps.Bool(r(c), rightPos, "the right side of `or`"));
            case "xor": return c => Value.From(ValueOps.Bool(l(c), pos, "the left side of `xor`") ^ ValueOps.Bool(r(c), rightPos, "the right side of `xor`"));
            case "==":
                if (b.Right is LiteralExpr { Value.Kind: ValueKind.String } lit)
                {
                    // The common filter `event.x == "literal"`: compare strings without the general equality path.
                    var s = lit.Value.AsString();
                    return c =>
                    {
                        var v = l(c);
                        return Value.From(v.Kind == ValueKind.String ? string.Equals(v.AsString(), s, StringComparison.Ordinal) : ValueOps.TremorEquals(v, lit.Value));
                    };
                }
                return c => Value.From(ValueOps.TremorEquals(l(c), r(c)));
            case "!=": return c => Value.From(!ValueOps.TremorEquals(l(c), r(c)));
            case "<": return c => Value.From(ValueOps.Compare(l(c), r(c), "<", pos) < 0);
            case "<=": return c => Value.From(ValueOps.Compare(l(c), r(c), "<=", pos) <= 0);
            case ">": return c => Value.From(ValueOps.Compare(l(c), r(c), ">", pos) > 0);
            case ">=": return c => Value.From(ValueOps.Compare(l(c), r(c), ">=", pos) >= 0);
            case "+": return c => ValueOps.Add(l(c), r(c), pos);
            default:
                var op = b.Op;
                return c => ValueOps.Arith(op, l(c), r(c), pos);
        }
    }

    // ---- calls ----

    private Eval Call(CallExpr call)
    {
        if (_definitions.FindFunction(call.Name, _prefix) is { } user)
        {
            if (user.Def.Intrinsic is { } target)
            {
                // An intrinsic declaration names a standard function: call it directly.
                if (FunctionRegistry.Find(target) is null && AggregateRegistry.Find(target) is null)
                    throw source.Error(call.Pos, $"`{call.Name}` is declared as the intrinsic `{target}`, which Tremor.NET does not implement");
                CheckArity(call, user.QualifiedName, user.Def.Params.Count, user.Def.Open ? int.MaxValue : user.Def.Params.Count);
                return Call(call with { Name = target });
            }
            return UserCall(call, user);
        }
        if (_definitions.FindAggregate(call.Name, _prefix) is { } userAggregate)
        {
            var callPos = call.Pos;
            return Aggregate(call, new AggregateDef(userAggregate.QualifiedName, userAggregate.Arity, userAggregate.Arity, () => new UserAggregator(userAggregate, callPos)));
        }
        if (AggregateRegistry.Find(call.Name) is { } aggregate) return Aggregate(call, aggregate);
        var def = FunctionRegistry.Find(call.Name);
        if (def is null)
        {
            var nearest = Source.Nearest(call.Name, FunctionRegistry.Names.Concat(_definitions.FunctionNames));
            var hint = nearest is not null ? $"did you mean `{nearest}`?"
                : call.Name.Contains("::", StringComparison.Ordinal)
                    ? "see the standard modules: string, math, array, record, json, type, re, integer, float, nanos, aggr; or `use` the module that defines it"
                    : $"define it first: fn {call.Name}(x) with x end;";
            throw source.Error(call.Pos, $"unknown function `{call.Name}`", hint);
        }
        CheckArity(call, def.Name, def.MinArgs, def.MaxArgs);
        var args = call.Args.Select(Compile).ToArray();
        var fn = def.Fn;
        var pos = call.Pos;
        if (def.WithContext is { } contextFn)
        {
            var count = args.Length;
            var at = Scope.AllocScratch(Math.Max(count, 1));
            return c =>
            {
                var s = c.Scratch;
                for (var i = 0; i < count; i++) s[at + i] = args[i](c);
                try
                {
                    return contextFn(c, new ReadOnlySpan<Value>(s, at, count));
                }
                catch (Exception e) when (e is FunctionError or RuntimeError)
                {
                    throw new RuntimeError(pos, e.Message);
                }
            };
        }
        var n = args.Length;
        var off = Scope.AllocScratch(n);
        if (n == 1)
        {
            var a0 = args[0];
            return c =>
            {
                var s = c.Scratch;
                s[off] = a0(c);
                try
                {
                    return fn(new ReadOnlySpan<Value>(s, off, 1));
                }
                catch (Exception e) when (e is FunctionError or RuntimeError)
                {
                    throw new RuntimeError(pos, e.Message);
                }
            };
        }
        return c =>
        {
            var s = c.Scratch;
            for (var i = 0; i < n; i++) s[off + i] = args[i](c);
            try
            {
                return fn(new ReadOnlySpan<Value>(s, off, n));
            }
            catch (Exception e) when (e is FunctionError or RuntimeError)
            {
                // The arguments are evaluated already: whatever fails now is this call's error, reported at the call.
                throw new RuntimeError(pos, e.Message);
            }
        };
    }

    private Eval UserCall(CallExpr call, UserFunction fn)
    {
        var fixedCount = fn.Def.Params.Count;
        CheckArity(call, fn.QualifiedName, fixedCount, fn.Def.Open ? int.MaxValue : fixedCount);
        fn.EnsureCompiled();
        var args = call.Args.Select(Compile).ToArray();
        var pos = call.Pos;
        var foreign = !ReferenceEquals(fn.Source, source);
        return c =>
        {
            var body = fn.Body ?? throw new RuntimeError(pos, $"function `{fn.QualifiedName}` is not compiled yet: a constant cannot call a function that calls it");
            var locals = new Value[fn.Locals];
            for (var i = 0; i < fixedCount; i++) locals[i] = args[i](c);
            if (fn.VarArgsSlot >= 0)
            {
                var rest = new List<Value>(args.Length - fixedCount);
                for (var i = fixedCount; i < args.Length; i++) rest.Add(args[i](c));
                locals[fn.VarArgsSlot] = Value.From(rest);
            }
            // The depth bound is the documented one; the stack check covers threads with small stacks.
            if (c.CallDepth >= MaxCallDepth || !System.Runtime.CompilerServices.RuntimeHelpers.TryEnsureSufficientExecutionStack())
                throw new RuntimeError(pos, $"`{fn.QualifiedName}` recursed deeper than {Math.Min(c.CallDepth, MaxCallDepth)} calls; make the recursive call the last thing it does with recur(...)");
            var (savedLocals, savedScratch) = (c.Locals, c.Scratch);
            c.Locals = locals;
            c.Scratch = new Value[fn.Scratch];
            c.CallDepth++;
            try
            {
                while (true)
                {
                    var v = body(c);
                    if (c.Flow != Flow.Recur) return v;
                    // Tail recursion: new arguments, fresh locals, same frame.
                    c.Flow = Flow.Continue;
                    System.Array.Copy(c.Scratch, c.RecurOffset, locals, 0, fixedCount);
                    System.Array.Clear(locals, fixedCount, locals.Length - fixedCount);
                }
            }
            catch (RuntimeError e) when (foreign)
            {
                // Positions are offsets into the module file: name it, and report at the call.
                var (line, col) = fn.Source.Locate(e.Pos);
                throw new RuntimeError(pos, $"in `{fn.QualifiedName}` ({fn.Source.Origin}:{line}:{col}): {e.Message}");
            }
            finally
            {
                c.CallDepth--;
                c.Locals = savedLocals;
                c.Scratch = savedScratch;
            }
        };
    }

    private BitsType PartType(int pos, string type) =>
        BitsType.Parse(type) ?? throw source.Error(pos, $"`{type}` is not a binary part type", $"Tremor's types: {BitsType.Valid}");

    // Tremor's bit syntax: parts of any size 1 to 64 bits packed most significant bit first (see BitWriter).
    private Eval Bytes(BytesExpr b)
    {
        var parts = b.Parts.Select(p =>
        {
            var type = PartType(p.Pos, p.Type);
            // For a /binary part the size counts bytes: the first N bytes of the value.
            return (Value: Compile(p.Value), type, Size: p.Bits ?? (type.Kind == BitsKind.Binary ? 0 : 8), p.Pos);
        }).ToArray();
        return c =>
        {
            var writer = new BitWriter();
            foreach (var (value, type, size, pos) in parts)
            {
                var v = value(c);
                if (type.Kind == BitsKind.Binary)
                {
                    var bytes = v.AsBytes() ?? (v.AsString() is { } s ? Encoding.UTF8.GetBytes(s) : throw new RuntimeError(pos, $"a /binary part must be binary or a string, got {ValueOps.TypeName(v)}"));
                    if (size > bytes.Length) throw new RuntimeError(pos, $"a /binary part of {size} bytes needs a longer value, got {bytes.Length} bytes");
                    writer.WriteBytes(size == 0 ? bytes : bytes.AsSpan(0, size));
                    continue;
                }
                if (!v.TryGetI64(out var n)) throw new RuntimeError(pos, $"a binary part must be an integer, got {ValueOps.TypeName(v)}");
                var signed = type.Kind == BitsKind.Signed;
                if (!signed && n < 0) throw new RuntimeError(pos, $"{n} is not an unsigned integer: write it as (n):{size}/signed-integer");
                var fits = size == 64 || (signed ? n >= -(1L << (size - 1)) && n < (1L << (size - 1)) : n < (1L << size));
                if (!fits) throw new RuntimeError(pos, $"{n} does not fit {size} {(signed ? "signed" : "unsigned")} bits");
                writer.Write((ulong)n, size, type.Little);
            }
            return Value.From(writer.ToArray());
        };
    }

    private Eval Recur(RecurExpr r)
    {
        if (Scope.Function is not { } fn) throw source.Error(r.Pos, "`recur` is only allowed inside a function", "fn f(n) with match n of case 0 => 0 default => recur(n - 1) end end;");
        if (fn.Def.Open) throw source.Error(r.Pos, "`recur` is not allowed in a function with `...` arguments");
        if (!_nodeInTail)
            throw source.Error(r.Pos, "`recur` can only be the last thing a function does", "make it the function's last expression, or the last of a match case that is: match n of case 0 => acc default => recur(n - 1, acc + n) end");
        if (r.Args.Count != fn.Def.Params.Count)
            throw source.Error(r.Pos, $"`recur` in `{fn.QualifiedName}` takes {fn.Def.Params.Count} argument{(fn.Def.Params.Count == 1 ? "" : "s")}, got {r.Args.Count}");
        var args = r.Args.Select(Compile).ToArray();
        var off = Scope.AllocScratch(args.Length);
        return c =>
        {
            // All arguments first: they may read the current ones.
            for (var i = 0; i < args.Length; i++) c.Scratch[off + i] = args[i](c);
            c.RecurOffset = off;
            c.Flow = Flow.Recur;
            return Value.Null;
        };
    }

    private void CheckArity(CallExpr call, string name, int min, int max)
    {
        if (call.Args.Count >= min && call.Args.Count <= max) return;
        var expected = min == max ? $"{min}" : max == int.MaxValue ? $"at least {min}" : $"{min} to {max}";
        throw source.Error(call.Pos, $"`{name}` takes {expected} argument{(min == 1 && max == 1 ? "" : "s")}, got {call.Args.Count}");
    }

    private Eval Aggregate(CallExpr call, AggregateDef def)
    {
        if (Scope.Kind != ScopeKind.WindowedSelect || !Scope.AggregatesAllowed)
            throw source.Error(call.Pos, $"aggregate function `{def.Name}` is only allowed in a select over a window",
                "select aggr::stats::count() from in[my_window] into out;");
        if (Scope.InAggregate) throw source.Error(call.Pos, "aggregate functions cannot be nested");
        CheckArity(call, def.Name, def.MinArgs, def.MaxArgs);
        Scope.InAggregate = true;
        var args = call.Args.Select(Compile).ToArray();
        Scope.InAggregate = false;
        var index = Scope.Aggregates.Count;
        Scope.Aggregates.Add(new AggregateSite(def, args, Scope.AllocScratch(args.Length), call.Pos));
        return c => c.Aggregates![index].Emit();
    }

    // ---- let ----

    private Eval Let(LetExpr let)
    {
        if (Scope.Kind is not (ScopeKind.Script or ScopeKind.Function)) throw source.Error(let.Pos, "`let` is only allowed in a script or a function");
        if (Scope.Kind == ScopeKind.Function && let.Target.Root != PathRoot.Local)
            throw source.Error(let.Pos, "a function can only `let` its own locals", "return the new value instead: fn f(e) with merge e of {\"a\": 1} end end;");
        var value = Compile(let.Value);
        var target = let.Target;
        var root = target.Root;
        var slot = root == PathRoot.Local ? (target.Segments.Count == 0 ? Scope.Declare(target.Name!) : Scope.Lookup(target.Name!) ?? throw source.Error(target.Pos, $"unknown local `{target.Name}`", LocalHint(target.Name!))) : -1;
        if (target.Segments.Count == 0)
        {
            return root switch
            {
                PathRoot.Event => c => { c.Event = value(c); return Value.Null; }
                ,
                // The metadata is a record: `let $ = {...}` replaces it, anything else is Tremor's error at the `$`.
                PathRoot.Meta => c =>
                {
                    var v = value(c);
                    c.Meta = v.Kind == ValueKind.Record ? v : throw new RuntimeError(target.Pos, $"You are trying to assign to a value that isn't valid: `$` is the event's metadata, a record, not {ValueOps.TypeName(v)} {ValueOps.Short(v)}");
                    return Value.Null;
                }
                ,
                PathRoot.State => c => { c.State = value(c); return Value.Null; }
                ,
                _ => c => { c.Locals[slot] = value(c); return Value.Null; }
                ,
            };
        }
        var segs = target.Segments.Select(CompileSegment).ToArray();
        var prefixes = Prefixes(target);

        // The root the path starts from, made this event's own (copied if shared) and stored back.
        Value OwnedRoot(Context c)
        {
            var container = root switch
            {
                PathRoot.Event => c.Event,
                PathRoot.Meta => c.Meta,
                PathRoot.State => c.State,
                _ => c.Locals[slot],
            };
            container = Owned(c, container, segs[0], prefixes[0]);
            switch (root)
            {
                case PathRoot.Event: c.Event = container; break;
                case PathRoot.Meta: c.Meta = container; break;
                case PathRoot.State: c.State = container; break;
                default: c.Locals[slot] = container; break;
            }
            return container;
        }

        if (segs is [{ Field: { } field }])
        {
            // `let $class = ...`, `let event.x = ...`: one record field, the commonest write, without the general walk.
            var key = Value.From(field);
            return c =>
            {
                var v = value(c);
                var container = OwnedRoot(c);
                if (container.AsRecord() is { } record) record.Set(field, v);
                else Set(container, key, v, segs[0], prefixes[0]);
                return Value.Null;
            };
        }
        return c =>
        {
            var v = value(c);
            var container = OwnedRoot(c);
            for (var i = 0; i < segs.Length - 1; i++)
            {
                var key = Key(c, segs[i]);
                var child = Get(container, key);
                child = Owned(c, child, segs[i + 1], prefixes[i + 1]);
                Set(container, key, child, segs[i], prefixes[i]);
                container = child;
            }
            Set(container, Key(c, segs[^1]), v, segs[^1], prefixes[^1]);
            return Value.Null;
        };
    }

    private static Value Key(Context c, CompiledSegment s) => s.Field is { } f ? Value.From(f) : s.Index!(c);

    private static Value Get(Value container, Value key) =>
        key.AsString() is { } k ? container[k] : key.TryGetI64(out var i) && i is >= 0 and <= int.MaxValue ? container[(int)i] : default;

    private static void Set(Value container, Value key, Value v, CompiledSegment seg, string prefix)
    {
        if (key.AsString() is { } k && container.AsRecord() is { } r)
        {
            r.Set(k, v);
            return;
        }
        if (key.TryGetI64(out var i) && container.AsArray() is { } a)
        {
            if (i < 0 || i >= a.Count) throw new RuntimeError(seg.Pos, OutOfBounds(i, a.Count, prefix));
            a[(int)i] = v;
            return;
        }
        throw new RuntimeError(seg.Pos, $"cannot assign {Describe(key)} in `{prefix}`: it is {ValueOps.TypeName(container)}");
    }

    private static string Describe(Value key) => key.AsString() is { } k ? $"field `{k}`" : $"index {key}";

    /// <summary>The container, copied unless this event already owns it; null becomes a new record.</summary>
    private static Value Owned(Context c, Value v, CompiledSegment next, string prefix)
    {
        switch (v.Kind)
        {
            case ValueKind.Null:
                {
                    var fresh = Value.NewRecord();
                    c.Own(fresh.AsRecord()!);
                    return fresh;
                }
            case ValueKind.Record:
                {
                    var r = v.AsRecord()!;
                    if (c.IsOwned(r)) return v;
                    var copy = ValueOps.ShallowCopy(v);
                    c.Own(copy.AsRecord()!);
                    return copy;
                }
            case ValueKind.Array:
                {
                    var a = v.AsArray()!;
                    if (c.IsOwned(a)) return v;
                    var copy = ValueOps.ShallowCopy(v);
                    c.Own(copy.AsArray()!);
                    return copy;
                }
            default:
                throw new RuntimeError(next.Pos, $"cannot assign into `{prefix}`: it is {ValueOps.TypeName(v)}, not a record or array");
        }
    }

    // ---- match ----

    /// <summary>Tremor's message for a match that no case (and no default) took.</summary>
    public const string NoClauseMatched = "A match expression executed but no clause matched";

    private Eval Match(MatchExpr m)
    {
        var tail = _nodeInTail;
        var subject = Compile(m.Subject);
        var cases = m.Cases.Select(k => (Matcher: Pattern(k.Pattern), Guard: k.Guard is null ? null : Compile(k.Guard), Body: Block(k.Body, false, tail), Pos: k.Guard?.Pos ?? k.Pos)).ToArray();
        var pos = m.Pos;
        // Leading cases that compare with a string literal (`case "app1" =>`, no guard) are one dictionary lookup: a
        // string subject goes straight to the first of them it equals, or past them all.
        var literals = new Dictionary<string, int>(StringComparer.Ordinal);
        var leading = 0;
        while (leading < m.Cases.Count && m.Cases[leading] is { Guard: null, Pattern: ValuePattern { Value: LiteralExpr { Value.Kind: ValueKind.String } literal } })
        {
            literals.TryAdd(literal.Value.AsString()!, leading);
            leading++;
        }
        if (leading >= 2)
        {
            return c =>
            {
                var v = subject(c);
                var from = 0;
                if (v.Kind == ValueKind.String)
                {
                    if (literals.TryGetValue(v.AsString()!, out var i)) return cases[i].Body(c);
                    from = leading;
                }
                for (var i = from; i < cases.Length; i++)
                {
                    var (matcher, guard, body, casePos) = cases[i];
                    if (!matcher(c, v, false, out _)) continue;
                    if (guard is not null && !ValueOps.Bool(guard(c), casePos, "a `when` guard")) continue;
                    return body(c);
                }
                throw new RuntimeError(pos, NoClauseMatched, "Consider adding a `default => null` clause at the end of your match or validate full coverage beforehand.");
            };
        }
        return c =>
        {
            var v = subject(c);
            foreach (var (matcher, guard, body, casePos) in cases)
            {
                if (!matcher(c, v, false, out _)) continue;
                if (guard is not null && !ValueOps.Bool(guard(c), casePos, "a `when` guard")) continue;
                return body(c);
            }
            // Tremor's run-time error, at the `match`: a match without `default` must cover every value it meets.
            throw new RuntimeError(pos, NoClauseMatched, "Consider adding a `default => null` clause at the end of your match or validate full coverage beforehand.");
        };
    }

    private Matcher Pattern(Pattern p)
    {
        switch (p)
        {
            case AnyPattern:
                return static (Context _, Value v, bool _, out Value r) =>
                {
                    r = v;
                    return true;
                };
            case ValuePattern vp:
                {
                    var expected = Compile(vp.Value);
                    return (Context c, Value v, bool _, out Value r) =>
                    {
                        r = v;
                        return ValueOps.TremorEquals(v, expected(c));
                    };
                }
            case ExtractPattern { Name: "influx" }:
                // Influx needs the event's ingest time for lines without a timestamp.
                return static (Context c, Value v, bool need, out Value r) => Influx.Extract(c.IngestNs, v, need, out r);
            case ExtractPattern ep:
                {
                    var extract = Extractors.Compile(source, ep);
                    return (Context _, Value v, bool need, out Value r) => extract(v, need, out r);
                }
            case BindPattern bp:
                {
                    var inner = Pattern(bp.Inner);
                    var slot = Scope.Declare(bp.Name);
                    return (Context c, Value v, bool _, out Value r) =>
                    {
                        if (!inner(c, v, true, out r)) return false;
                        c.Locals[slot] = r;
                        return true;
                    };
                }
            case BinaryPattern bp:
                return BitPattern(bp);
            case RecordPattern rp:
                {
                    var items = rp.Items.Select(RecordItem).ToArray();
                    return (Context c, Value v, bool need, out Value r) =>
                    {
                        r = default;
                        if (v.AsRecord() is not { } record) return false;
                        // Tremor binds a record pattern to the keys it tested: present keys, extractions, nested results.
                        var acc = need ? new ValueRecord(items.Length) : null;
                        foreach (var item in items)
                        {
                            if (!item(c, record, acc)) return false;
                        }
                        r = need ? Value.From(acc!) : v;
                        return true;
                    };
                }
            case ArrayPattern ap:
                {
                    var items = ap.Items.Select(Pattern).ToArray();
                    // `_` asks for a non-empty array and binds nothing, as in Tremor.
                    var ignore = ap.Items.Select(i => i is AnyPattern).ToArray();
                    // Tremor's array patterns search: each element pattern must match some element; bound as [[index, result], ...].
                    return (Context c, Value v, bool need, out Value r) =>
                    {
                        r = default;
                        if (v.AsArray() is not { } a) return false;
                        var acc = need ? new List<Value>() : null;
                        for (var p = 0; p < items.Length; p++)
                        {
                            if (ignore[p])
                            {
                                if (a.Count == 0) return false;
                                continue;
                            }
                            var found = false;
                            for (var i = 0; i < a.Count; i++)
                            {
                                if (!items[p](c, a[i], need, out var x)) continue;
                                found = true;
                                if (!need) break;
                                acc!.Add(Value.From(new List<Value> { Value.From((long)i), x }));
                            }
                            if (!found) return false;
                        }
                        r = need ? Value.From(acc!) : v;
                        return true;
                    };
                }
            case TuplePattern tp:
                {
                    var items = tp.Items.Select(Pattern).ToArray();
                    var open = tp.Open;
                    return (Context c, Value v, bool need, out Value r) =>
                    {
                        r = default;
                        // `%(a, b, ...)` is open: at least these elements, the rest unchecked and unbound.
                        if (v.AsArray() is not { } a || (open ? a.Count < items.Length : a.Count != items.Length)) return false;
                        var acc = need ? new List<Value>(items.Length) : null;
                        for (var i = 0; i < items.Length; i++)
                        {
                            if (!items[i](c, a[i], need, out var x)) return false;
                            acc?.Add(x);
                        }
                        r = need ? Value.From(acc!) : v;
                        return true;
                    };
                }
            default: throw source.Error(p.Pos, "unsupported pattern");
        }
    }

    /// <summary>
    /// A bit pattern: the binary is read back in the layout a literal with the same parts writes (see BitWriter), so
    /// <c>&lt;&lt;a:4, b:4&gt;&gt;</c> takes apart what <c>&lt;&lt;x:4, y:4&gt;&gt;</c> built. The sizes must cover the whole
    /// binary unless the last part is a sizeless <c>/binary</c>, which takes the rest.
    /// </summary>
    private Matcher BitPattern(BinaryPattern bp)
    {
        var parts = new List<(int Pos, int Slot, Eval? Expected, BitsType Type, int Size)>();
        long fixedBits = 0;
        var rest = false;
        for (var i = 0; i < bp.Parts.Count; i++)
        {
            var p = bp.Parts[i];
            var type = PartType(p.Pos, p.Type);
            var size = p.Bits ?? (type.Kind == BitsKind.Binary ? 0 : 8);
            if (type.Kind == BitsKind.Binary && size == 0)
            {
                if (i != bp.Parts.Count - 1) throw source.Error(p.Pos, "only the last part of a bit pattern can take the rest of the binary", "give it a size in bytes: part:4/binary");
                if (fixedBits % 8 != 0) throw source.Error(p.Pos, $"the rest of the binary starts at bit {fixedBits}, inside a byte", "make the parts before it whole bytes");
                rest = true;
            }
            else if (type.Little && size > 8 && size % 8 != 0)
                throw source.Error(p.Pos, $"a little-endian part of {size} bits cannot be read back: Tremor swaps whole bytes", "use a multiple of 8 bits, or big-endian");
            fixedBits += type.Kind == BitsKind.Binary ? size * 8L : size;
            var slot = p.Bind is { } name ? Scope.Declare(name) : -1;
            parts.Add((p.Pos, slot, p.Value is null ? null : Compile(p.Value), type, size));
        }
        var items = parts.ToArray();
        var total = fixedBits;
        var takesRest = rest;
        return (Context c, Value v, bool _, out Value r) =>
        {
            r = v;
            if (v.AsBytes() is not { } bytes) return false;
            var needBytes = (total + 7) / 8;
            if (takesRest ? bytes.Length < needBytes : bytes.Length != needBytes) return false;
            // A last byte that is not full holds its bits low; anything above them is not part of the binary.
            if (!takesRest && total % 8 != 0 && bytes[^1] >> (int)(total % 8) != 0) return false;
            var reader = new BitReader(bytes, takesRest ? needBytes * 8 : total);
            foreach (var (pos, slot, expected, type, size) in items)
            {
                Value got;
                if (type.Kind == BitsKind.Binary)
                {
                    byte[] chunk;
                    if (size == 0) chunk = bytes[(int)(reader.Position / 8)..];
                    else
                    {
                        chunk = new byte[size];
                        for (var k = 0; k < size; k++) chunk[k] = (byte)reader.Read(8, false);
                    }
                    got = Value.From(chunk);
                }
                else
                {
                    var raw = reader.Read(size, type.Little);
                    // Signed parts sign-extend from their size.
                    got = Value.From(type.Kind == BitsKind.Signed && size < 64 && (raw >> (size - 1) & 1) == 1 ? (long)(raw | (ulong.MaxValue << size)) : (long)raw);
                }
                if (expected is not null)
                {
                    var want = expected(c);
                    if (type.Kind == BitsKind.Binary && want.AsString() is { } text) want = Value.From(Encoding.UTF8.GetBytes(text));
                    if (!got.Equals(want)) return false;
                }
                if (slot >= 0) c.Locals[slot] = got;
            }
            return true;
        };
    }

    private Func<Context, ValueRecord, ValueRecord?, bool> RecordItem(RecordPatternItem item)
    {
        var key = item.Key;
        var field = new FieldLookup(key);
        switch (item.Kind)
        {
            case "present":
                return (_, r, acc) =>
                {
                    if (!field.TryGet(r, out var v)) return false;
                    acc?.Set(key, v);
                    return true;
                };
            case "absent": return (_, r, _) => !field.TryGet(r, out _);
            case "nested":
                {
                    var nested = Pattern(item.Nested!);
                    var assign = item.Assign is { } name ? Scope.Declare(name) : -1;
                    return (c, r, acc) =>
                    {
                        if (!field.TryGet(r, out var v)) return false;
                        if (!nested(c, v, acc is not null || assign >= 0, out var x)) return false;
                        if (assign >= 0) c.Locals[assign] = x;
                        else acc?.Set(key, x);
                        return true;
                    };
                }
            case "==":
                {
                    var expected = Compile(item.Value!);
                    return (c, r, _) => field.TryGet(r, out var v) && ValueOps.TremorEquals(v, expected(c));
                }
            case "!=":
                {
                    var expected = Compile(item.Value!);
                    return (c, r, _) => field.TryGet(r, out var v) && !ValueOps.TremorEquals(v, expected(c));
                }
            default:
                {
                    var expected = Compile(item.Value!);
                    var op = item.Kind;
                    return (c, r, _) =>
                    {
                        if (!field.TryGet(r, out var v)) return false;
                        var e = expected(c);
                        if (!(v.IsNumber && e.IsNumber) && !(v.Kind == e.Kind && v.Kind == ValueKind.String)) return false;
                        var cmp = ValueOps.Compare(v, e, op, item.Pos);
                        return op switch { "<" => cmp < 0, "<=" => cmp <= 0, ">" => cmp > 0, _ => cmp >= 0 };
                    };
                }
        }
    }

    // ---- patch, merge, for ----

    private Eval Patch(PatchExpr p)
    {
        var target = Compile(p.Target);
        var ops = p.Ops.Select(o => (o.Kind, Key: o.Key is null ? null : Compile(o.Key), Value: o.Value is null ? null : Compile(o.Value), o.Pos)).ToArray();
        var pos = p.Target.Pos;
        return c =>
        {
            var t = target(c);
            if (t.Kind != ValueKind.Record) throw new RuntimeError(pos, $"can only patch a record, got {ValueOps.TypeName(t)}");
            var result = ValueOps.ShallowCopy(t);
            var r = result.AsRecord()!;
            foreach (var (kind, keyEval, valueEval, opPos) in ops)
            {
                string? key = null;
                if (keyEval is not null)
                {
                    var k = keyEval(c);
                    key = k.AsString() ?? throw new RuntimeError(opPos, $"patch keys must be strings, got {ValueOps.TypeName(k)}");
                }
                switch (kind)
                {
                    case "insert":
                        if (r.ContainsKey(key!)) throw new RuntimeError(opPos, $"The key that is supposed to be written to already exists: {key}");
                        r.Set(key!, valueEval!(c));
                        break;
                    case "update":
                        if (!r.ContainsKey(key!)) throw new RuntimeError(opPos, $"The key that is supposed to be updated does not exists: {key}");
                        r.Set(key!, valueEval!(c));
                        break;
                    case "upsert": r.Set(key!, valueEval!(c)); break;
                    case "erase": r.Remove(key!); break;
                    case "copy" or "move":
                        {
                            var to = valueEval!(c);
                            var toKey = to.AsString() ?? throw new RuntimeError(opPos, $"patch {kind}: the target key must be a string, got {ValueOps.TypeName(to)}");
                            if (r.ContainsKey(toKey)) throw new RuntimeError(opPos, $"The key that is supposed to be written to already exists: {toKey} (patch {kind})");
                            // A missing source key copies or moves nothing, as in Tremor.
                            if (r.TryGetValue(key!, out var moved))
                            {
                                if (kind == "move") r.Remove(key!);
                                r.Set(toKey, moved);
                            }
                            break;
                        }
                    case "default":
                        if (key is null)
                        {
                            var d = valueEval!(c);
                            if (d.AsRecord() is not { } dr) throw new RuntimeError(opPos, $"patch default => needs a record, got {ValueOps.TypeName(d)}");
                            // Tremor fills defaults in nested records too.
                            ValueOps.ApplyDefault(r, dr);
                        }
                        else if (!r.ContainsKey(key)) r.Set(key, valueEval!(c));
                        break;
                    case "merge":
                        {
                            var m = valueEval!(c);
                            if (key is null)
                            {
                                if (m.AsRecord() is null) throw new RuntimeError(opPos, $"patch merge => needs a record, got {ValueOps.TypeName(m)}");
                                result = ValueOps.Merge(result, m);
                                r = result.AsRecord()!;
                            }
                            else if (!r.TryGetValue(key, out var existing)) r.Set(key, ValueOps.Merge(Value.NewRecord(), m));
                            else if (existing.AsRecord() is not null && m.AsRecord() is not null) r.Set(key, ValueOps.Merge(existing, m));
                            else
                                throw new RuntimeError(opPos, $"Merge can only be performed on keys that either do not exist or are records but the key '{key}' has the type {ValueOps.TypeName(existing)} (merging {ValueOps.TypeName(m)} into {ValueOps.Short(existing)})");
                            break;
                        }
                }
            }
            return result;
        };
    }

    private Eval Merge(MergeExpr m)
    {
        var target = Compile(m.Target);
        var with = Compile(m.With);
        var (targetPos, withPos) = (m.Target.Pos, m.With.Pos);
        return c =>
        {
            var t = target(c);
            var w = with(c);
            // At the operand that is not a record, as Tremor reports it.
            if (t.Kind != ValueKind.Record || w.Kind != ValueKind.Record)
                throw new RuntimeError(t.Kind != ValueKind.Record ? targetPos : withPos, $"merge needs two records, got {ValueOps.TypeName(t)} and {ValueOps.TypeName(w)}");
            return ValueOps.Merge(t, w);
        };
    }

    private Eval For(ForExpr f)
    {
        var sourceEval = Compile(f.Source);
        var initial = f.Initial is null ? null : Compile(f.Initial);
        var cases = f.Cases.Select(k => (K: Scope.Declare(k.KeyName), V: Scope.Declare(k.ValueName), Guard: k.Guard is null ? null : Compile(k.Guard), Body: Block(k.Body, false), Pos: k.Body.Count > 0 ? k.Body[^1].Pos : k.Pos, GuardPos: k.Guard?.Pos ?? k.Pos)).ToArray();
        var op = f.Fold ?? "+";
        return c =>
        {
            var s = sourceEval(c);
            // The accumulator: an array collects, a record merges the cases' records, a scalar folds with `op`.
            var acc = initial is null ? Value.From(new List<Value>()) : initial(c);
            if (acc.AsArray() is { } initialArray) acc = Value.From(new List<Value>(initialArray));
            else if (acc.Kind == ValueKind.Record) acc = ValueOps.ShallowCopy(acc);
            if (s.AsArray() is { } a)
            {
                for (var i = 0; i < a.Count; i++) ForOne(c, Value.From((long)i), a[i], ref acc);
            }
            else if (s.AsRecord() is { } r)
            {
                foreach (var (k, v) in r) ForOne(c, Value.From(k), v, ref acc);
            }
            // Anything else has nothing to iterate: Tremor gives the initial value, no error.
            return acc;
        };

        void ForOne(Context c, Value key, Value value, ref Value acc)
        {
            // As in Tremor, folding a case's value fails at that value (the case's expression), and only when one is folded.
            foreach (var (k, v, guard, body, casePos, guardPos) in cases)
            {
                c.Locals[k] = key;
                c.Locals[v] = value;
                if (guard is not null && !ValueOps.Bool(guard(c), guardPos, "a `when` guard")) continue;
                var result = body(c);
                if (op != "+" && acc.Kind is ValueKind.Array or ValueKind.Record)
                    throw new RuntimeError(casePos, $"cannot fold into {ValueOps.TypeName(acc)} with `{op}`: arrays and records fold with `+` only");
                if (acc.AsArray() is { } list) list.Add(result);
                else if (acc.AsRecord() is { } record)
                {
                    if (result.AsRecord() is not { } entries)
                        throw new RuntimeError(casePos, $"a `for` into a record needs records from its cases, got {ValueOps.TypeName(result)}");
                    foreach (var (ek, ev) in entries) record.Set(ek, ev);
                }
                else
                {
                    acc = op switch
                    {
                        "+" => ValueOps.Add(acc, result, casePos),
                        "and" => Value.From(ValueOps.Bool(acc, casePos, "the accumulator of `and`") && ValueOps.Bool(result, casePos, "a case of a fold with `and`")),
                        "or" => Value.From(ValueOps.Bool(acc, casePos, "the accumulator of `or`") || ValueOps.Bool(result, casePos, "a case of a fold with `or`")),
                        "xor" => Value.From(ValueOps.Bool(acc, casePos, "the accumulator of `xor`") ^ ValueOps.Bool(result, casePos, "a case of a fold with `xor`")),
                        _ => ValueOps.Arith(op, acc, result, casePos),
                    };
                }
                return;
            }
        }
    }

    // ---- emit, drop ----

    private Eval Emit(EmitExpr e)
    {
        if (Scope.Kind != ScopeKind.Script) throw source.Error(e.Pos, "`emit` is only allowed in a script", "a select always emits its value into its target");
        var value = e.Value is null ? null : Compile(e.Value);
        var port = e.Port is null ? null : Compile(e.Port);
        var pos = e.Pos;
        return c =>
        {
            var v = value is null ? c.Event : value(c);
            string? p = null;
            if (port is not null)
            {
                var pv = port(c);
                p = pv.AsString() ?? throw new RuntimeError(pos, $"emit port must be a string, got {ValueOps.TypeName(pv)}");
            }
            c.Flow = Flow.Emit;
            c.EmitValue = v;
            c.EmitPort = p;
            return v;
        };
    }

    private Eval Drop(DropExpr d)
    {
        if (Scope.Kind != ScopeKind.Script) throw source.Error(d.Pos, "`drop` is only allowed in a script", "filter in a select with `where`");
        return c =>
        {
            c.Flow = Flow.Drop;
            return Value.Null;
        };
    }
}
