using System.Text;

namespace Aha.Tokenizer.Jinja;

/// <summary>
/// A parsed template and its evaluator. Scoping follows Jinja2: the body of a for loop (each iteration) and of a macro are
/// new scopes, so a <c>{% set %}</c> inside them does not leak out (templates use <c>namespace()</c> for that); if-blocks
/// share their enclosing scope.
/// </summary>
sealed class JinjaTemplate
{
    readonly IReadOnlyList<Node> _body;
    readonly string _source;

    public JinjaTemplate(string template, string source)
    {
        _source = source;
        _body = JinjaParser.Parse(template, source);
    }

    sealed class Scope(Scope? parent)
    {
        readonly Dictionary<string, object?> _vars = new(StringComparer.Ordinal);
        readonly Scope? _parent = parent;

        public bool TryGet(string name, out object? value)
        {
            for (var s = this; s is not null; s = s._parent)
                if (s._vars.TryGetValue(name, out value)) return true;
            value = null;
            return false;
        }

        public void Set(string name, object? value) => _vars[name] = value;
    }

    enum Flow { Normal, Break, Continue }

    public string Render(IReadOnlyDictionary<string, object?> context)
    {
        var root = new Scope(null);
        foreach (var (name, value) in context) root.Set(name, value);
        var output = new StringBuilder();
        Execute(_body, root, output, inLoop: false);
        return output.ToString();
    }

    JinjaTemplateException Error(int line, int column, string what, string? raised = null) => new(_source, line, column, what, raised);

    Flow Execute(IReadOnlyList<Node> nodes, Scope scope, StringBuilder output, bool inLoop)
    {
        foreach (var node in nodes)
        {
            var flow = ExecuteOne(node, scope, output, inLoop);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    Flow ExecuteOne(Node node, Scope scope, StringBuilder output, bool inLoop)
    {
        switch (node)
        {
            case TextNode t:
                output.Append(t.Text);
                return Flow.Normal;
            case OutputNode o:
                var value = Eval(o.Value, scope);
                try { output.Append(Py.Str(value)); }
                catch (JinjaRuntimeError e) { throw Error(o.Line, o.Column, e.Message); }
                return Flow.Normal;
            case IfNode i:
                foreach (var (test, body) in i.Branches)
                    if (Py.Truthy(Eval(test, scope))) return Execute(body, scope, output, inLoop);
                return i.Else is null ? Flow.Normal : Execute(i.Else, scope, output, inLoop);
            case ForNode f:
                ExecuteFor(f, scope, output);
                return Flow.Normal;
            case SetNode s:
                var assigned = Eval(s.Value, scope);
                if (s.Attribute is null) { scope.Set(s.Name, assigned); return Flow.Normal; }
                scope.TryGet(s.Name, out var target);
                if (target is not JinjaNamespace ns)
                    throw Error(s.Line, s.Column, $"cannot assign attribute '{s.Attribute}' on '{s.Name}', a {Py.TypeName(target)}: only namespace() objects take attribute assignment");
                ns.Attributes[s.Attribute] = assigned;
                return Flow.Normal;
            case MacroNode m:
                scope.Set(m.Name, MakeMacro(m, scope));
                return Flow.Normal;
            case GenerationNode g:
                return Execute(g.Body, scope, output, inLoop);
            case LoopControlNode c:
                if (!inLoop) throw Error(c.Line, c.Column, $"'{{% {(c.IsBreak ? "break" : "continue")} %}}' outside a for loop");
                return c.IsBreak ? Flow.Break : Flow.Continue;
            default:
                throw Error(node.Line, node.Column, $"internal: unknown node {node.GetType().Name}");
        }
    }

    void ExecuteFor(ForNode f, Scope scope, StringBuilder output)
    {
        var iterable = Eval(f.Iterable, scope);
        List<object?> items;
        try { items = Py.Iterate(iterable); }
        catch (JinjaRuntimeError e) { throw Error(f.Iterable.Line, f.Iterable.Column, e.Message); }
        if (f.Filter is not null)
        {
            // The loop's own 'if' filters before counting: loop.index and loop.length see only the kept items.
            var kept = new List<object?>();
            foreach (var item in items)
            {
                var probe = new Scope(scope);
                Bind(f, probe, item);
                if (Py.Truthy(Eval(f.Filter, probe))) kept.Add(item);
            }
            items = kept;
        }
        if (items.Count == 0)
        {
            if (f.Else is not null) Execute(f.Else, new Scope(scope), output, inLoop: false);
            return;
        }
        var loop = new JinjaLoop(items);
        for (int i = 0; i < items.Count; i++)
        {
            loop.Index0 = i;
            var iteration = new Scope(scope);
            iteration.Set("loop", loop);
            Bind(f, iteration, items[i]);
            if (Execute(f.Body, iteration, output, inLoop: true) == Flow.Break) break;
        }
    }

    void Bind(ForNode f, Scope scope, object? item)
    {
        if (f.Targets.Count == 1) { scope.Set(f.Targets[0], item); return; }
        var parts = item is List<object?> or string ? Py.Iterate(item) : null;
        if (parts is null || parts.Count != f.Targets.Count)
            throw Error(f.Line, f.Column, $"cannot unpack a {Py.TypeName(item)} into {f.Targets.Count} loop variables ({string.Join(", ", f.Targets)})");
        for (int i = 0; i < parts.Count; i++) scope.Set(f.Targets[i], parts[i]);
    }

    JinjaCallable MakeMacro(MacroNode m, Scope definedIn) => new(m.Name, (args, kwargs) =>
    {
        if (args.Count > m.Parameters.Count) throw new JinjaRuntimeError($"macro '{m.Name}' takes {m.Parameters.Count} argument(s), got {args.Count}");
        var scope = new Scope(definedIn);
        for (int i = 0; i < m.Parameters.Count; i++)
        {
            var (name, fallback) = m.Parameters[i];
            object? value = i < args.Count ? args[i]
                : kwargs.Remove(name, out var kw) ? kw
                : fallback is not null ? Eval(fallback, scope)
                : new JinjaUndefined($"parameter '{name}' was not provided");
            scope.Set(name, value);
        }
        if (kwargs.Count > 0) throw new JinjaRuntimeError($"macro '{m.Name}' takes no keyword argument '{kwargs.Keys.First()}'");
        var output = new StringBuilder();
        Execute(m.Body, scope, output, inLoop: false);
        return output.ToString();
    });

    object? Eval(Expr e, Scope scope)
    {
        try
        {
            return EvalCore(e, scope);
        }
        catch (JinjaRuntimeError err)
        {
            throw Error(e.Line, e.Column, err.Message, err.RaisedMessage);
        }
    }

    object? EvalCore(Expr e, Scope scope)
    {
        switch (e)
        {
            case LiteralExpr l:
                return l.Value;
            case NameExpr n:
                return scope.TryGet(n.Name, out var v) ? v : new JinjaUndefined($"'{n.Name}' is undefined");
            case ListExpr l:
                return l.Items.Select(x => Eval(x, scope)).ToList();
            case DictExpr d:
                var dict = new JinjaDict();
                foreach (var (k, val) in d.Pairs)
                    dict[Eval(k, scope) as string ?? throw new JinjaRuntimeError("dict keys must be strings in Aha's Jinja subset")] = Eval(val, scope);
                return dict;
            case AttributeExpr a:
                return Py.GetAttribute(Eval(a.Target, scope), a.Name);
            case ItemExpr i:
                return Py.GetItem(Eval(i.Target, scope), Eval(i.Index, scope));
            case SliceExpr s:
                var target = Eval(s.Target, scope);
                Fail(target);
                return Py.Slice(target, SliceBound(s.Start, scope), SliceBound(s.Stop, scope), SliceBound(s.Step, scope));
            case CallExpr c:
                var callee = Eval(c.Callee, scope);
                var (args, kwargs) = Arguments(c.Args, c.Kwargs, scope);
                return callee switch
                {
                    JinjaCallable f => f.Invoke(args, kwargs),
                    JinjaUndefined u => throw new JinjaRuntimeError(u.Description),
                    _ => throw new JinjaRuntimeError($"'{Py.TypeName(callee)}' object is not callable"),
                };
            case FilterExpr f:
                var value = Eval(f.Value, scope);
                var (fargs, fkwargs) = Arguments(f.Args, f.Kwargs, scope);
                return JinjaBuiltins.Filter(f.Name, value, fargs, fkwargs);
            case TestExpr t:
                return JinjaBuiltins.Test(t.Name, Eval(t.Value, scope), t.Args.Select(x => Eval(x, scope)).ToList()) != t.Negated;
            case UnaryExpr u:
                var operand = Eval(u.Operand, scope);
                if (u.Op == "not") return !Py.Truthy(operand);
                return operand switch
                {
                    // (object) keeps ints ints: a switch over long and double arms would otherwise widen every arm to double.
                    long x => (object)(u.Op == "-" ? checked(-x) : x),
                    double x => u.Op == "-" ? -x : x,
                    bool x => u.Op == "-" ? -(x ? 1L : 0L) : (x ? 1L : 0L),
                    JinjaUndefined un => throw new JinjaRuntimeError(un.Description),
                    _ => throw new JinjaRuntimeError($"bad operand type for unary {u.Op}: '{Py.TypeName(operand)}'"),
                };
            case BinaryExpr b:
                if (b.Op == "and") { var left = Eval(b.Left, scope); return Py.Truthy(left) ? Eval(b.Right, scope) : left; }
                if (b.Op == "or") { var left = Eval(b.Left, scope); return Py.Truthy(left) ? left : Eval(b.Right, scope); }
                if (b.Op == "~") return Py.Str(Eval(b.Left, scope)) + Py.Str(Eval(b.Right, scope));
                return JinjaArithmetic.Apply(b.Op, Eval(b.Left, scope), Eval(b.Right, scope));
            case CompareExpr c:
                var current = Eval(c.First, scope);
                foreach (var (op, rightExpr) in c.Rest)
                {
                    var right = Eval(rightExpr, scope);
                    bool ok = op switch
                    {
                        "==" => Py.Equal(current, right),
                        "!=" => !Py.Equal(current, right),
                        "in" => Py.Contains(right, current),
                        "notin" => !Py.Contains(right, current),
                        _ => CompareOrdered(current, right, op),
                    };
                    if (!ok) return false;
                    current = right;
                }
                return true;
            case ConditionalExpr c:
                return Py.Truthy(Eval(c.Test, scope)) ? Eval(c.Then, scope)
                    : c.Else is null ? new JinjaUndefined("the inline if expression evaluated to false and no else section was defined")
                    : Eval(c.Else, scope);
            default:
                throw new JinjaRuntimeError($"internal: unknown expression {e.GetType().Name}");
        }
    }

    static bool CompareOrdered(object? a, object? b, string op)
    {
        Fail(a);
        Fail(b);
        int c = Py.Compare(a, b, op);
        return op switch { "<" => c < 0, "<=" => c <= 0, ">" => c > 0, _ => c >= 0 };
    }

    long? SliceBound(Expr? e, Scope scope) => e is null ? null : Eval(e, scope) switch
    {
        null => null,
        long n => n,
        bool b => b ? 1 : 0,
        var other => throw new JinjaRuntimeError($"slice indices must be integers or None, not {Py.TypeName(other)}"),
    };

    (List<object?>, Dictionary<string, object?>) Arguments(IReadOnlyList<Expr> args, IReadOnlyList<(string Name, Expr Value)> kwargs, Scope scope)
    {
        var positional = args.Select(a => Eval(a, scope)).ToList();
        var named = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in kwargs) named[name] = Eval(value, scope);
        return (positional, named);
    }

    /// <summary>Undefined supports printing, truth, iteration, len and tests; any other use fails, as Jinja2's default Undefined does.</summary>
    static void Fail(object? value)
    {
        if (value is JinjaUndefined u) throw new JinjaRuntimeError(u.Description);
    }
}
