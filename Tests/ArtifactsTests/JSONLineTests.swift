#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import Artifacts

@Suite struct JSONObjectTests {
    @Test func emptyObject() {
        #expect(JSONObject().line == "{}")
    }

    @Test func stringEscaping() {
        var object = JSONObject()
        object.add("s", "quote\" backslash\\ slash/")
        #expect(object.line == #"{"s":"quote\" backslash\\ slash/"}"#)

        var controls = JSONObject()
        controls.add("c", "\n\r\t\u{08}\u{0C}\u{00}\u{01}\u{1B}\u{1F} \u{7F}")
        #expect(controls.line == #"{"c":"\n\r\t\b\f\u0000\u0001\u001b\u001f "# + "\u{7F}\"}")

        var unicode = JSONObject()
        unicode.add("naïve ✓", "日本語 😀 e\u{301}")
        #expect(unicode.line == "{\"naïve ✓\":\"日本語 😀 e\u{301}\"}")

        var key = JSONObject()
        key.add("a\"b\n", 1)
        #expect(key.line == #"{"a\"b\n":1}"#)
    }

    @Test func numbers() {
        var object = JSONObject()
        object.add("int", -42)
        object.add("intMin", Int.min)
        object.add("seed", UInt64.max)
        object.add("tenth", 0.1)
        object.add("one", 1.0)
        object.add("small", 1e-5)
        object.add("large", 1e20)
        object.add("negativeZero", -0.0)
        object.add("float", Float(0.1))
        object.add("nan", Double.nan)
        object.add("inf", -Double.infinity)
        object.add("floatNaN", Float.nan)
        #expect(object.line == """
            {"int":-42,"intMin":-9223372036854775808,"seed":18446744073709551615,"tenth":0.1,"one":1.0,\
            "small":1e-05,"large":1e+20,"negativeZero":-0.0,"float":0.1,"nan":null,"inf":null,"floatNaN":null}
            """)
    }

    @Test func doublesRoundTripThroughTheirText() {
        for value in [0.1 + 0.2, 1.0 / 3, 6.02214076e23, Double.leastNonzeroMagnitude, -123.456, Double.greatestFiniteMagnitude] {
            var object = JSONObject()
            object.add("x", value)
            let text = object.line.dropFirst(5).dropLast()
            #expect(Double(String(text)) == value)
        }
    }

    @Test func boolsArraysNullAndNesting() {
        var inner = JSONObject()
        inner.add("lr", 0.001)
        inner.add("name", "adam")
        var object = JSONObject()
        object.add("ok", true)
        object.add("dp", false)
        object.add("losses", [2.5, .nan, 1])
        object.add("empty", [Double]())
        object.add("tags", ["a", "b\"c"])
        object.addNull("missing")
        object.add("optimizer", inner)
        object.add("nothing", JSONObject())
        #expect(object.line == #"""
            {"ok":true,"dp":false,"losses":[2.5,null,1.0],"empty":[],"tags":["a","b\"c"],"missing":null,"optimizer":{"lr":0.001,"name":"adam"},"nothing":{}}
            """#)
        #expect(object.description == object.line)
    }

    @Test func keysKeepInsertionOrderAndRepeatedKeysReplaceInPlace() {
        var object = JSONObject()
        object.add("z", 1)
        object.add("a", 2)
        object.add("m", 3)
        object.add("a", "again")
        #expect(object.line == #"{"z":1,"a":"again","m":3}"#)
    }

    @Test func lineHasNoNewline() {
        var object = JSONObject()
        object.add("text", "line one\nline two\r\n")
        #expect(!object.line.contains("\n") && !object.line.contains("\r"))
    }
}

@Suite struct MetricsFileTests {
    @Test func appendsOneLinePerObject() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("metrics.jsonl")
        do {
            let metrics = try MetricsFile(path: path, truncate: true)
            #expect(metrics.path == path)
            for epoch in 1...2 {
                var object = JSONObject()
                object.add("epoch", epoch)
                object.add("loss", 1.0 / Double(epoch))
                try metrics.append(object)
            }
            // Visible to readers before the file is closed: nothing is held back in a buffer.
            #expect(try AtomicFile.read(path) == Array("{\"epoch\":1,\"loss\":1.0}\n{\"epoch\":2,\"loss\":0.5}\n".utf8))
        }
        do {
            let resumed = try MetricsFile(path: path)
            try resumed.append(line: "{\"epoch\":3}")
        }
        #expect(try AtomicFile.read(path) == Array("{\"epoch\":1,\"loss\":1.0}\n{\"epoch\":2,\"loss\":0.5}\n{\"epoch\":3}\n".utf8))
        do {
            let fresh = try MetricsFile(path: path, truncate: true)
            try fresh.append(JSONObject())
        }
        #expect(try AtomicFile.read(path) == Array("{}\n".utf8))
    }

    @Test func unopenableFileIsAnError() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("no/such/dir/metrics.jsonl")
        do {
            _ = try MetricsFile(path: path)
            Issue.record("opened a file in a missing directory")
        } catch {
            #expect(error.kind == .io(errno: ENOENT))
            #expect(error.description.hasPrefix("\(path): cannot open metrics file: "))
        }
    }
}
