import pytest

from certflow.kita_csv import KitaCsvError, parse_kitas

HEADER = "id;name;traeger_id;jugendamt_id;strasse;plz;ort;lat;lon\n"


def test_good_file_with_bom_and_decimal_comma():
    text = "\ufeff" + HEADER + "K1;Kita Sonnenschein;T1;JA1;Lindenweg 3;32756;Detmold;51,9381;8,8790\n"
    (kita,) = parse_kitas(text, "k.csv")
    assert (kita.id, kita.city, kita.postcode, kita.lat, kita.lon) == ("K1", "Detmold", "32756", 51.9381, 8.879)


def test_comma_separated():
    text = HEADER.replace(";", ",") + 'K1,"Kita Am Bach, Haus 2",T1,JA1,Bachstr. 1,52349,Düren,50.80,6.48\n'
    assert parse_kitas(text)[0].name == "Kita Am Bach, Haus 2"


def test_every_bad_row_is_reported_and_nothing_imported():
    text = HEADER + (
        "K1;Kita A;T1;JA1;Weg 1;32756;Detmold;51.9;8.8\n"
        "K2;Kita B;T1;JA1;Weg 2;3275;Detmold;51.9;8.8\n"
        "K1;Kita C;T1;JA1;Weg 3;32756;Detmold;51.9;8.8\n"
        "K4;Kita D;T1;JA1;Weg 4;32756;Detmold;nord;8.8\n"
        "K5;Kita E;T1;JA1;Weg 5;32756\n"
    )
    with pytest.raises(KitaCsvError) as exc:
        parse_kitas(text, "k.csv")
    assert [str(p) for p in exc.value.problems] == [
        "k.csv:3: plz: hat nicht die erwartete Form (^\\d{5}$)",
        "k.csv:4: id: Kita 'K1' doppelt (schon in Zeile 2)",
        "k.csv:5: lat: muss eine Zahl sein",
        "k.csv:6: falsche Anzahl von Feldern (erwartet 9)",
    ]


def test_coordinates_outside_germany():
    with pytest.raises(KitaCsvError, match="k.csv:2: lat: muss mindestens 47.0 sein"):
        parse_kitas(HEADER + "K1;Kita A;T1;JA1;Weg 1;32756;Detmold;40.1;8.8\n", "k.csv")


def test_wrong_header():
    with pytest.raises(KitaCsvError) as exc:
        parse_kitas("id;name;ort\nK1;A;B\n", "k.csv")
    assert str(exc.value).startswith("k.csv:1: fehlende Spalten: traeger_id, jugendamt_id, strasse, plz, lat, lon")


def test_empty_file():
    with pytest.raises(KitaCsvError, match="leer"):
        parse_kitas("", "k.csv")
    with pytest.raises(KitaCsvError, match="keine Kitas"):
        parse_kitas(HEADER, "k.csv")


def test_upper_bound_of_coordinates_in_german():
    with pytest.raises(KitaCsvError, match="k.csv:2: lon: darf höchstens 15.5 sein"):
        parse_kitas(HEADER + "K1;Kita A;T1;JA1;Weg 1;32756;Detmold;51.9;18.8\n", "k.csv")
