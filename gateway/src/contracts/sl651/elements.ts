/**
 * SL 651-2014 《水文监测数据通信规约》 appendix C, table C.1: the element identifiers (要素标识符)
 * a telemetry station reports, each with its HEX/BCD guide byte (标识符引导符), its ASCII
 * identifier, its unit and its data definition N(D,d) (D digits, d of them after the point).
 *
 * In HEX/BCD frames an element is `guide definition data`: the definition byte's high 5 bits are
 * the data's length in bytes, its low 3 bits the number of decimals (§6.6.3.2, table 26), so an
 * element this table does not know can still be skipped. In ASCII frames it is `ID value ` (§6.6.2).
 */

/** How an element's data is laid out. */
export type ElementForm =
  /** BCD digits, decimals from the definition byte; a leading FFH byte marks a negative (§6.6.3.3). */
  | 'number'
  /** 12 one-byte HEX rainfalls of 0.1 mm, one per 5 minutes of the hour (F4H, DRP); FFH missing. */
  | 'rain5min'
  /** 12 two-byte HEX relative stages of 0.01 m, one per 5 minutes (F5H–FCH, DRZ1–8); FFFFH missing. */
  | 'stage5min'
  /** 4-byte HEX bit field (45H ZT, table 58). */
  | 'bits'
  /** Time-step code dhm (04H, DRxnn; tables C.2, C.3). */
  | 'step'
  /** Raw data to the end of the body (人工置数, pictures, flow batches). */
  | 'raw'

/** One row of table C.1. */
export interface ElementSpec {
  /** HEX/BCD guide byte. */
  readonly guide: number
  /** ASCII identifier, the name the registry maps. */
  readonly id: string
  readonly name: string
  readonly unit: string
  readonly form: ElementForm
  /** N(D,d): digits without the point, and decimals. */
  readonly digits: number
  readonly decimals: number
}

// guide, ASCII id, digits, decimals, unit, name — transcribed from table C.1 (rows 15–131).
const NUMBERS = `
01 AC 8 2 m2 断面面积
02 AI 3 1 degC 瞬时气温
03 C 3 1 degC 瞬时水温
05 DT 4 2 h.mm 时段长、降水、引排水、抽水历时
06 ED 5 1 mm 日蒸发量
07 EJ 5 1 mm 当前蒸发
08 FL 5 0 hPa 气压
09 GH 5 2 m 闸坝、水库闸门开启高度
0A GN 3 0 - 输水设备、闸门(组)编号
0B GS 1 0 - 输水设备类别
0C GT 3 0 - 水库、闸坝闸门开启孔数
0D GTP 3 1 degC 地温
0E H 6 2 m 地下水瞬时埋深
0F HW 5 2 m 波浪高度
10 M10 4 1 % 10厘米处土壤含水量
11 M20 4 1 % 20厘米处土壤含水量
12 M30 4 1 % 30厘米处土壤含水量
13 M40 4 1 % 40厘米处土壤含水量
14 M50 4 1 % 50厘米处土壤含水量
15 M60 4 1 % 60厘米处土壤含水量
16 M80 4 1 % 80厘米处土壤含水量
17 M100 4 1 % 100厘米处土壤含水量
18 MST 4 1 % 湿度
19 NS 2 0 - 开机台数
1A P1 5 1 mm 1小时时段降水量
1B P2 5 1 mm 2小时时段降水量
1C P3 5 1 mm 3小时时段降水量
1D P6 5 1 mm 6小时时段降水量
1E P12 5 1 mm 12小时时段降水量
1F PD 5 1 mm 日降水量
20 PJ 5 1 mm 当前降水量
21 PN01 5 1 mm 1分钟时段降水量
22 PN05 5 1 mm 5分钟时段降水量
23 PN10 5 1 mm 10分钟时段降水量
24 PN30 5 1 mm 30分钟时段降水量
25 PR 5 1 mm 暴雨量
26 PT 6 1 mm 降水量累计值
27 Q 9 3 m3/s 瞬时流量、抽水流量
28 Q1 9 3 m3/s 取(排)水口流量1
29 Q2 9 3 m3/s 取(排)水口流量2
2A Q3 9 3 m3/s 取(排)水口流量3
2B Q4 9 3 m3/s 取(排)水口流量4
2C Q5 9 3 m3/s 取(排)水口流量5
2D Q6 9 3 m3/s 取(排)水口流量6
2E Q7 9 3 m3/s 取(排)水口流量7
2F Q8 9 3 m3/s 取(排)水口流量8
30 QA 9 3 m3/s 总出库流量、过闸总流量
31 QZ 9 3 m3/s 输水设备流量、过闸(组)流量
32 SW 11 3 10^4t 输沙量
33 UC 2 0 - 风向
34 UE 2 0 - 风力(级)
35 US 4 1 m/s 风速
36 VA 5 3 m/s 断面平均流速
37 VJ 5 3 m/s 当前瞬时流速
38 VT 4 2 V 电源电压
39 Z 7 3 m 瞬时河道水位、潮位
3A ZB 7 3 m 库(闸、站)下水位
3B ZU 7 3 m 库(闸、站)上水位
3C Z1 7 3 m 取(排)水口水位1
3D Z2 7 3 m 取(排)水口水位2
3E Z3 7 3 m 取(排)水口水位3
3F Z4 7 3 m 取(排)水口水位4
40 Z5 7 3 m 取(排)水口水位5
41 Z6 7 3 m 取(排)水口水位6
42 Z7 7 3 m 取(排)水口水位7
43 Z8 7 3 m 取(排)水口水位8
44 SQ 9 3 kg/m3 含沙量
46 pH 4 2 - pH值
47 DO 4 1 mg/L 溶解氧
48 COND 5 0 uS/cm 电导率
49 TURB 3 0 deg 浊度
4A CODMN 4 1 mg/L 高锰酸盐指数
4B REDOX 5 1 mV 氧化还原电位
4C NH4N 6 2 mg/L 氨氮
4D TP 5 3 mg/L 总磷
4E TN 5 2 mg/L 总氮
4F TOC 4 2 mg/L 总有机碳
50 CU 7 4 mg/L 铜
51 ZN 6 4 mg/L 锌
52 SE 7 5 mg/L 硒
53 AS 7 5 mg/L 砷
54 THG 7 5 mg/L 总汞
55 CD 7 5 mg/L 镉
56 PB 7 5 mg/L 铅
57 CHLA 4 2 mg/L 叶绿素a
58 WP1 5 2 kPa 水压1
59 WP2 5 2 kPa 水压2
5A WP3 5 2 kPa 水压3
5B WP4 5 2 kPa 水压4
5C WP5 5 2 kPa 水压5
5D WP6 5 2 kPa 水压6
5E WP7 5 2 kPa 水压7
5F WP8 5 2 kPa 水压8
60 SYL1 11 3 m3 水表1剩余水量
61 SYL2 11 3 m3 水表2剩余水量
62 SYL3 11 3 m3 水表3剩余水量
63 SYL4 11 3 m3 水表4剩余水量
64 SYL5 11 3 m3 水表5剩余水量
65 SYL6 11 3 m3 水表6剩余水量
66 SYL7 11 3 m3 水表7剩余水量
67 SYL8 11 3 m3 水表8剩余水量
68 SBL1 10 2 m3/h 水表1每小时水量
69 SBL2 10 2 m3/h 水表2每小时水量
6A SBL3 10 2 m3/h 水表3每小时水量
6B SBL4 10 2 m3/h 水表4每小时水量
6C SBL5 10 2 m3/h 水表5每小时水量
6D SBL6 10 2 m3/h 水表6每小时水量
6E SBL7 10 2 m3/h 水表7每小时水量
6F SBL8 10 2 m3/h 水表8每小时水量
70 VTA 4 1 V 交流A相电压
71 VTB 4 1 V 交流B相电压
72 VTC 4 1 V 交流C相电压
73 VIA 4 1 A 交流A相电流
74 VIB 4 1 A 交流B相电流
75 VIC 4 1 A 交流C相电流
`

const spec = (
  guide: number,
  id: string,
  form: ElementForm,
  name: string,
  unit = '-',
  digits = 0,
  decimals = 0,
): ElementSpec => ({ guide, id, name, unit, form, digits, decimals })

/** Every element of table C.1 but the time and address guides (F0H TT, F1H ST). */
export const ELEMENTS: readonly ElementSpec[] = [
  spec(0xf2, 'RGZS', 'raw', '人工置数'),
  spec(0xf3, 'PIC', 'raw', '图片信息'),
  spec(0xf4, 'DRP', 'rain5min', '1小时内每5分钟时段雨量', 'mm'),
  ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) =>
    spec(0xf4 + n, `DRZ${n}`, 'stage5min', `1小时内5分钟间隔相对水位${n}`, 'm'),
  ),
  spec(0xfd, 'DATA', 'raw', '流速批量数据传输'),
  spec(0x04, 'DR', 'step', '时间步长码'),
  spec(0x45, 'ZT', 'bits', '遥测站状态及报警信息'),
  ...NUMBERS.trim()
    .split('\n')
    .map((line) => {
      const [guide, id, digits, decimals, unit, name] = line.split(' ') as [
        string,
        string,
        string,
        string,
        string,
        string,
      ]
      return spec(Number.parseInt(guide, 16), id, 'number', name, unit, Number(digits), Number(decimals))
    }),
]

const byGuide = new Map(ELEMENTS.map((e) => [e.guide, e]))
const byId = new Map(ELEMENTS.map((e) => [e.id, e]))

/** Guide bytes of the observation time (F0F0H, ASCII TT) and the station address (F1F1H, ST). */
export const TIME_GUIDE = 0xf0
export const ADDRESS_GUIDE = 0xf1
/** FFH: an extension identifier follows (user-defined elements, FFxxH). */
export const EXTENSION_GUIDE = 0xff

export const elementByGuide = (guide: number): ElementSpec | undefined => byGuide.get(guide)
export const elementById = (id: string): ElementSpec | undefined => byId.get(id)

/** The HEX/BCD definition byte of a number element: bytes in the high 5 bits, decimals in the low 3. */
export function definitionByte(e: ElementSpec): number {
  switch (e.form) {
    case 'rain5min':
      return 0x60 // 12 bytes
    case 'stage5min':
      return 0xc0 // 24 bytes
    case 'bits':
      return 0x20 // 4 bytes
    case 'step':
      return 0x18 // 3 bytes
    case 'raw':
      return e.guide // F2F2H, F3F3H: the definition repeats the guide (table C.1 notes c, d)
    case 'number':
      return (Math.ceil(e.digits / 2) << 3) | e.decimals
  }
}

/** Telemetry station categories (遥测站分类码), appendix A table A.1: HEX code is the ASCII letter. */
export const STATION_CATEGORIES: Readonly<Record<string, string>> = {
  P: '降水',
  H: '河道',
  K: '水库(湖泊)',
  Z: '闸坝',
  D: '泵站',
  T: '潮汐',
  M: '墒情',
  G: '地下水',
  Q: '水质',
  I: '取水口',
  O: '排水口',
}
