namespace Aha.Tokenizer.Jinja;

/// <summary>
/// Recursive-descent parser with Jinja2's precedence: conditional &lt; or &lt; and &lt; not &lt; comparison/in &lt; + - &lt; ~
/// &lt; * / // % &lt; ** &lt; unary &lt; postfix (attribute, item, call) with filters and tests binding to the unary operand.
/// Tags outside the subset (raw, block, extends, include, import, call, filter, with, set-blocks, recursive loops) are refused.
/// </summary>
sealed class JinjaParser
{
    readonly List<Token> _tokens;
    readonly string _source;
    int _pos;

    JinjaParser(List<Token> tokens, string source)
    {
        _tokens = tokens;
        _source = source;
    }

    public static IReadOnlyList<Node> Parse(string template, string source)
    {
        var parser = new JinjaParser(JinjaLexer.Tokenize(template, source), source);
        var (body, end) = parser.ParseBody([]);
        if (end is not null) throw parser.Error(parser.Current, $"unexpected '{{% {end} %}}' with no open block");
        return body;
    }

    Token Current => _tokens[_pos];
    Token Next() => _tokens[_pos++];

    JinjaTemplateException Error(Token at, string what) => new(_source, at.Line, at.Column, what);

    Token Expect(TokenKind kind, string? value = null)
    {
        var t = Current;
        if (t.Kind != kind || (value is not null && t.Value != value))
            throw Error(t, $"expected {(value is null ? kind.ToString().ToLowerInvariant() : $"'{value}'")}, found {Describe(t)}");
        _pos++;
        return t;
    }

    static string Describe(Token t) => t.Kind switch
    {
        TokenKind.Eof => "the end of the template",
        TokenKind.BlockEnd or TokenKind.VariableEnd => $"'{t.Value}'",
        _ => $"'{t.Value}'",
    };

    bool SkipName(string name)
    {
        if (!Current.IsName(name)) return false;
        _pos++;
        return true;
    }

    bool SkipOp(string op)
    {
        if (!Current.IsOp(op)) return false;
        _pos++;
        return true;
    }

    /// <summary>Nodes up to a block tag named in <paramref name="endTags"/>; returns that tag's name (consumed up to its name) or null at the end.</summary>
    (List<Node> Body, string? End) ParseBody(string[] endTags)
    {
        var body = new List<Node>();
        while (true)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.Eof:
                    return (body, null);
                case TokenKind.Text:
                    _pos++;
                    body.Add(new TextNode(t.Value, t.Line, t.Column));
                    break;
                case TokenKind.VariableBegin:
                    _pos++;
                    body.Add(new OutputNode(ParseExpression(), t.Line, t.Column));
                    Expect(TokenKind.VariableEnd);
                    break;
                case TokenKind.BlockBegin:
                    var name = _tokens[_pos + 1];
                    if (name.Kind == TokenKind.Name && endTags.Contains(name.Value))
                    {
                        _pos += 2;
                        return (body, name.Value);
                    }
                    _pos++;
                    body.Add(ParseStatement(t));
                    break;
                default:
                    throw Error(t, $"unexpected {Describe(t)}");
            }
        }
    }

    List<Node> ParseBlockBody(Token opener, string[] endTags, out string end)
    {
        var (body, found) = ParseBody(endTags);
        end = found ?? throw Error(opener, $"the block opened here is never closed; expected {string.Join(" or ", endTags.Select(e => $"'{{% {e} %}}'"))}");
        return body;
    }

    Node ParseStatement(Token begin)
    {
        var keyword = Expect(TokenKind.Name);
        switch (keyword.Value)
        {
            case "if": return ParseIf(begin);
            case "for": return ParseFor(begin);
            case "set": return ParseSet(begin);
            case "macro": return ParseMacro(begin);
            case "generation":
                Expect(TokenKind.BlockEnd);
                var body = ParseBlockBody(begin, ["endgeneration"], out _);
                Expect(TokenKind.BlockEnd);
                return new GenerationNode(body, begin.Line, begin.Column);
            case "break" or "continue":
                Expect(TokenKind.BlockEnd);
                return new LoopControlNode(keyword.Value == "break", begin.Line, begin.Column);
            default:
                throw Error(keyword, $"the tag '{{% {keyword.Value} %}}' is not supported by Aha's Jinja subset (chat templates use if, for, set, macro, generation, break, continue)");
        }
    }

    IfNode ParseIf(Token begin)
    {
        var branches = new List<(Expr, IReadOnlyList<Node>)>();
        IReadOnlyList<Node>? elseBody = null;
        var test = ParseExpression();
        while (true)
        {
            Expect(TokenKind.BlockEnd);
            var body = ParseBlockBody(begin, ["elif", "else", "endif"], out var end);
            branches.Add((test, body));
            if (end == "elif") { test = ParseExpression(); continue; }
            if (end == "else")
            {
                Expect(TokenKind.BlockEnd);
                elseBody = ParseBlockBody(begin, ["endif"], out _);
            }
            Expect(TokenKind.BlockEnd);
            return new IfNode(branches, elseBody, begin.Line, begin.Column);
        }
    }

    ForNode ParseFor(Token begin)
    {
        var targets = new List<string> { Expect(TokenKind.Name).Value };
        while (SkipOp(",")) targets.Add(Expect(TokenKind.Name).Value);
        Expect(TokenKind.Name, "in");
        var iterable = ParseExpression(withConditional: false);
        Expr? filter = SkipName("if") ? ParseExpression() : null;
        if (Current.IsName("recursive")) throw Error(Current, "recursive loops are not supported by Aha's Jinja subset");
        Expect(TokenKind.BlockEnd);
        var body = ParseBlockBody(begin, ["else", "endfor"], out var end);
        List<Node>? elseBody = null;
        if (end == "else")
        {
            Expect(TokenKind.BlockEnd);
            elseBody = ParseBlockBody(begin, ["endfor"], out _);
        }
        Expect(TokenKind.BlockEnd);
        return new ForNode(targets, iterable, filter, body, elseBody, begin.Line, begin.Column);
    }

    SetNode ParseSet(Token begin)
    {
        var name = Expect(TokenKind.Name);
        string? attribute = SkipOp(".") ? Expect(TokenKind.Name).Value : null;
        if (Current.IsOp(",")) throw Error(Current, "assigning several names in one '{% set %}' is not supported by Aha's Jinja subset");
        if (Current.Kind == TokenKind.BlockEnd) throw Error(Current, "block assignment '{% set name %}…{% endset %}' is not supported by Aha's Jinja subset");
        Expect(TokenKind.Operator, "=");
        var value = ParseExpression();
        Expect(TokenKind.BlockEnd);
        return new SetNode(name.Value, attribute, value, begin.Line, begin.Column);
    }

    MacroNode ParseMacro(Token begin)
    {
        var name = Expect(TokenKind.Name).Value;
        Expect(TokenKind.Operator, "(");
        var parameters = new List<(string, Expr?)>();
        while (!SkipOp(")"))
        {
            if (parameters.Count > 0) Expect(TokenKind.Operator, ",");
            if (SkipOp(")")) break;
            var parameter = Expect(TokenKind.Name).Value;
            parameters.Add((parameter, SkipOp("=") ? ParseExpression() : null));
        }
        Expect(TokenKind.BlockEnd);
        var body = ParseBlockBody(begin, ["endmacro"], out _);
        if (Current.Kind == TokenKind.Name) _pos++; // {% endmacro name %}
        Expect(TokenKind.BlockEnd);
        return new MacroNode(name, parameters, body, begin.Line, begin.Column);
    }

    // ---- expressions ----

    Expr ParseExpression(bool withConditional = true) => withConditional ? ParseConditional() : ParseOr();

    Expr ParseConditional()
    {
        var expr = ParseOr();
        while (Current.IsName("if"))
        {
            var at = Next();
            var test = ParseOr();
            Expr? otherwise = SkipName("else") ? ParseConditional() : null;
            expr = new ConditionalExpr(test, expr, otherwise, at.Line, at.Column);
        }
        return expr;
    }

    Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsName("or")) { var at = Next(); left = new BinaryExpr("or", left, ParseAnd(), at.Line, at.Column); }
        return left;
    }

    Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.IsName("and")) { var at = Next(); left = new BinaryExpr("and", left, ParseNot(), at.Line, at.Column); }
        return left;
    }

    Expr ParseNot()
    {
        if (!Current.IsName("not")) return ParseCompare();
        var at = Next();
        return new UnaryExpr("not", ParseNot(), at.Line, at.Column);
    }

    Expr ParseCompare()
    {
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            var t = Current;
            if (t.Kind == TokenKind.Operator && t.Value is "==" or "!=" or "<" or "<=" or ">" or ">=") { _pos++; rest.Add((t.Value, ParseMath1())); }
            else if (t.IsName("in")) { _pos++; rest.Add(("in", ParseMath1())); }
            else if (t.IsName("not") && _tokens[_pos + 1].IsName("in")) { _pos += 2; rest.Add(("notin", ParseMath1())); }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first, rest, first.Line, first.Column);
    }

    Expr ParseMath1()
    {
        var left = ParseConcat();
        while (Current.Kind == TokenKind.Operator && Current.Value is "+" or "-") { var at = Next(); left = new BinaryExpr(at.Value, left, ParseConcat(), at.Line, at.Column); }
        return left;
    }

    Expr ParseConcat()
    {
        var left = ParseMath2();
        while (Current.IsOp("~")) { var at = Next(); left = new BinaryExpr("~", left, ParseMath2(), at.Line, at.Column); }
        return left;
    }

    Expr ParseMath2()
    {
        var left = ParsePow();
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%") { var at = Next(); left = new BinaryExpr(at.Value, left, ParsePow(), at.Line, at.Column); }
        return left;
    }

    Expr ParsePow()
    {
        var left = ParseUnary();
        while (Current.IsOp("**")) { var at = Next(); left = new BinaryExpr("**", left, ParseUnary(), at.Line, at.Column); }
        return left;
    }

    Expr ParseUnary(bool withFilter = true)
    {
        var t = Current;
        Expr node = t.Kind == TokenKind.Operator && t.Value is "-" or "+"
            ? new UnaryExpr(Next().Value, ParseUnary(withFilter: false), t.Line, t.Column)
            : ParsePrimary();
        node = ParsePostfix(node);
        return withFilter ? ParseFilters(node) : node;
    }

    Expr ParsePrimary()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.Name:
                return t.Value switch
                {
                    "true" or "True" => new LiteralExpr(true, t.Line, t.Column),
                    "false" or "False" => new LiteralExpr(false, t.Line, t.Column),
                    "none" or "None" => new LiteralExpr(null, t.Line, t.Column),
                    _ => new NameExpr(t.Value, t.Line, t.Column),
                };
            case TokenKind.String:
                string text = (string)t.Literal!;
                while (Current.Kind == TokenKind.String) text += (string)Next().Literal!;
                return new LiteralExpr(text, t.Line, t.Column);
            case TokenKind.Integer or TokenKind.Float:
                return new LiteralExpr(t.Literal, t.Line, t.Column);
            case TokenKind.Operator when t.Value == "(":
                if (SkipOp(")")) return new ListExpr([], t.Line, t.Column);
                var inner = ParseExpression();
                if (Current.IsOp(","))
                {
                    // A tuple; Aha represents it as a list (only membership and iteration of tuples occur in chat templates).
                    var items = new List<Expr> { inner };
                    while (SkipOp(",") && !Current.IsOp(")")) items.Add(ParseExpression());
                    inner = new ListExpr(items, t.Line, t.Column);
                }
                Expect(TokenKind.Operator, ")");
                return inner;
            case TokenKind.Operator when t.Value == "[":
                var list = new List<Expr>();
                while (!SkipOp("]"))
                {
                    if (list.Count > 0) Expect(TokenKind.Operator, ",");
                    if (SkipOp("]")) break;
                    list.Add(ParseExpression());
                }
                return new ListExpr(list, t.Line, t.Column);
            case TokenKind.Operator when t.Value == "{":
                var pairs = new List<(Expr, Expr)>();
                while (!SkipOp("}"))
                {
                    if (pairs.Count > 0) Expect(TokenKind.Operator, ",");
                    if (SkipOp("}")) break;
                    var key = ParseExpression();
                    Expect(TokenKind.Operator, ":");
                    pairs.Add((key, ParseExpression()));
                }
                return new DictExpr(pairs, t.Line, t.Column);
            default:
                throw Error(t, $"expected an expression, found {Describe(t)}");
        }
    }

    Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            var t = Current;
            if (t.IsOp("."))
            {
                _pos++;
                var name = Next();
                node = name.Kind switch
                {
                    TokenKind.Name => new AttributeExpr(node, name.Value, t.Line, t.Column),
                    TokenKind.Integer => new ItemExpr(node, new LiteralExpr(name.Literal, name.Line, name.Column), t.Line, t.Column),
                    _ => throw Error(name, $"expected an attribute name after '.', found {Describe(name)}"),
                };
            }
            else if (t.IsOp("[")) { _pos++; node = ParseSubscript(node, t); }
            else if (t.IsOp("(")) { _pos++; node = ParseCall(node, t); }
            else return node;
        }
    }

    Expr ParseSubscript(Expr target, Token at)
    {
        Expr? start = null, stop = null, step = null;
        bool slice = false;
        if (!Current.IsOp(":")) start = ParseExpression();
        if (SkipOp(":"))
        {
            slice = true;
            if (!Current.IsOp(":") && !Current.IsOp("]")) stop = ParseExpression();
            if (SkipOp(":") && !Current.IsOp("]")) step = ParseExpression();
        }
        if (Current.IsOp(",")) throw Error(Current, "tuple subscripts x[a, b] are not supported by Aha's Jinja subset");
        Expect(TokenKind.Operator, "]");
        return slice ? new SliceExpr(target, start, stop, step, at.Line, at.Column) : new ItemExpr(target, start!, at.Line, at.Column);
    }

    (List<Expr> Args, List<(string, Expr)> Kwargs) ParseArguments()
    {
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        while (!SkipOp(")"))
        {
            if (args.Count + kwargs.Count > 0) Expect(TokenKind.Operator, ",");
            if (SkipOp(")")) break;
            if (Current.IsOp("*") || Current.IsOp("**")) throw Error(Current, "*args and **kwargs in calls are not supported by Aha's Jinja subset");
            if (Current.Kind == TokenKind.Name && _tokens[_pos + 1].IsOp("="))
            {
                var name = Next().Value;
                _pos++;
                kwargs.Add((name, ParseExpression()));
            }
            else
            {
                if (kwargs.Count > 0) throw Error(Current, "a positional argument follows a keyword argument");
                args.Add(ParseExpression());
            }
        }
        return (args, kwargs);
    }

    Expr ParseCall(Expr callee, Token at)
    {
        var (args, kwargs) = ParseArguments();
        return new CallExpr(callee, args, kwargs, at.Line, at.Column);
    }

    Expr ParseFilters(Expr node)
    {
        while (true)
        {
            var t = Current;
            if (t.IsOp("|"))
            {
                _pos++;
                var name = Expect(TokenKind.Name);
                if (!JinjaBuiltins.FilterNames.Contains(name.Value))
                    throw Error(name, $"the filter '{name.Value}' is not supported by Aha's Jinja subset (supported: {string.Join(", ", JinjaBuiltins.FilterNames)})");
                var (args, kwargs) = SkipOp("(") ? ParseArguments() : ([], []);
                node = new FilterExpr(node, name.Value, args, kwargs, name.Line, name.Column);
            }
            else if (t.IsName("is"))
            {
                _pos++;
                bool negated = SkipName("not");
                var name = Expect(TokenKind.Name);
                if (!JinjaBuiltins.TestNames.Contains(name.Value))
                    throw Error(name, $"the test '{name.Value}' is not supported by Aha's Jinja subset (supported: {string.Join(", ", JinjaBuiltins.TestNames)})");
                var args = new List<Expr>();
                if (SkipOp("("))
                {
                    var (a, kw) = ParseArguments();
                    if (kw.Count > 0) throw Error(name, $"keyword arguments to the test '{name.Value}' are not supported");
                    args = a;
                }
                else if (Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                         || Current.IsOp("[") || Current.IsOp("{") || Current.IsOp("("))
                {
                    if (!(Current.IsName("else") || Current.IsName("or") || Current.IsName("and")))
                        args.Add(ParsePostfix(ParsePrimary()));
                }
                node = new TestExpr(node, name.Value, args, negated, name.Line, name.Column);
            }
            else if (t.IsOp("(")) { _pos++; node = ParseCall(node, t); }
            else return node;
        }
    }
}
