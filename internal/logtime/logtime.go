// Package logtime reads the timestamps of nginx's access and error logs
// into Unix seconds without allocating, and writes them (Stamps) formatting
// each second once. It never consults the machine's time zone: an
// access-log time carries its own offset, an error-log time is taken as
// UTC, and a time is written in the zone it carries.
package logtime

// AccessLog reads nginx's $time_local ("29/Nov/2026:04:28:39 +0000") and
// returns Unix seconds in UTC. It does not allocate.
func AccessLog(b []byte) (int64, bool) {
	if len(b) != 26 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' ||
		b[17] != ':' || b[20] != ' ' || (b[21] != '+' && b[21] != '-') {
		return 0, false
	}
	day, ok1 := digits2(b[0:2])
	mon := monthIndex(b[3:6])
	y1, ok2 := digits2(b[7:9])
	y2, ok3 := digits2(b[9:11])
	hh, ok4 := digits2(b[12:14])
	mm, ok5 := digits2(b[15:17])
	ss, ok6 := digits2(b[18:20])
	oh, ok7 := digits2(b[22:24])
	om, ok8 := digits2(b[24:26])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) || mon == 0 {
		return 0, false
	}
	year := y1*100 + y2
	if day < 1 || day > daysIn(mon, year) || hh > 23 || mm > 59 || ss > 60 || oh > 23 || om > 59 {
		return 0, false
	}
	secs := daysFromCivil(year, mon, day)*86400 + int64(hh*3600+mm*60+ss)
	off := int64(oh*3600 + om*60)
	if b[21] == '+' {
		secs -= off
	} else {
		secs += off
	}
	return secs, true
}

func digits2(b []byte) (int, bool) {
	if b[0] < '0' || b[0] > '9' || b[1] < '0' || b[1] > '9' {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

const monthNames = "JanFebMarAprMayJunJulAugSepOctNovDec"

// monthIndex returns 1..12 for an English month abbreviation, 0 otherwise.
func monthIndex(b []byte) int {
	for i := 0; i < 12; i++ {
		if b[0] == monthNames[3*i] && b[1] == monthNames[3*i+1] && b[2] == monthNames[3*i+2] {
			return i + 1
		}
	}
	return 0
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns days since 1970-01-01 of a proleptic Gregorian date
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// ErrorLog reads nginx's error-log time, "2026/11/29 04:28:39", as UTC, and returns Unix seconds.
// It does not allocate.
func ErrorLog(b []byte) (int64, bool) {
	if len(b) != 19 || b[4] != '/' || b[7] != '/' || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	y1, ok1 := digits2(b[0:2])
	y2, ok2 := digits2(b[2:4])
	mon, ok3 := digits2(b[5:7])
	day, ok4 := digits2(b[8:10])
	hh, ok5 := digits2(b[11:13])
	mm, ok6 := digits2(b[14:16])
	ss, ok7 := digits2(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) {
		return 0, false
	}
	year := y1*100 + y2
	if mon < 1 || mon > 12 || day < 1 || day > daysIn(mon, year) || hh > 23 || mm > 59 || ss > 60 {
		return 0, false
	}
	return daysFromCivil(year, mon, day)*86400 + int64(hh*3600+mm*60+ss), true
}
